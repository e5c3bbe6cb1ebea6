import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from btcscan.kernels.pivots import capacity, pivots_asof, raw_pivots, zigzag
from btcscan.kernels.rolling import atr
from tests import pattern_reference as ref
from tests.strategies import candles, levels


@settings(max_examples=300, deadline=None)
@given(x=levels(nan_prefix=True), left=st.integers(1, 6), right=st.integers(1, 6),
       high=st.booleans())
def test_raw_pivots_match_reference(x, left, right, high):
    got = raw_pivots(x, left, right, high=high)
    assert got.tolist() == ref.raw_pivots(x.tolist(), left, right, high)


def test_ties_earliest_bar_wins():
    x = np.array([1, 2, 5, 5, 5, 2, 1, 0, 0], dtype=float)
    assert np.nonzero(raw_pivots(x, 2, 2, high=True))[0].tolist() == [2]
    lows = np.array([5, 4, 1, 1, 3, 4, 5], dtype=float)
    assert np.nonzero(raw_pivots(lows, 2, 2, high=False))[0].tolist() == [2]


def test_flat_series_has_no_pivot_but_the_first_of_a_plateau():
    assert raw_pivots(np.ones(30), 3, 3).sum() == 0  # strict on the left: no bar beats its past
    assert raw_pivots(np.array([]), 5, 5).size == 0


@settings(max_examples=150, deadline=None)
@given(c=candles(max_size=120), left=st.integers(1, 5), right=st.integers(1, 5),
       swing=st.sampled_from([0.0, 0.5, 1.0, 2.0]))
def test_zigzag_asof_matches_reference_at_every_bar(c, left, right, swing):
    high, low, close = c
    a = atr(high, low, close, 5)
    log = zigzag(high, low, a, left, right, swing)
    assert log["bar"].size <= capacity(high.size, left, right)
    assert (log["confirm"] == log["bar"] + right).all()  # known exactly `right` bars later
    for t in range(high.size):
        idx = pivots_asof(log, t)
        got = [(int(log["bar"][i]), float(log["price"][i]), int(log["side"][i])) for i in idx]
        assert got == ref.zigzag_asof(high, low, a, left, right, swing, t), t
        sides = [s for _, _, s in got]
        assert all(s1 != s2 for s1, s2 in itertools.pairwise(sides))  # alternation


def test_zigzag_on_btc_is_alternating_and_swings_are_large(btc_daily):
    d = btc_daily
    a = atr(d["high"], d["low"], d["close"], 14)
    log = zigzag(d["high"], d["low"], a, 5, 5, 1.0)
    idx = pivots_asof(log, d["close"].size - 1)
    side = log["side"][idx]
    price = log["price"][idx]
    bar = log["bar"][idx]
    assert (side[1:] != side[:-1]).all()
    swings = np.abs(np.diff(price))
    assert (swings >= a[bar[1:]] - 1e-9).all()
