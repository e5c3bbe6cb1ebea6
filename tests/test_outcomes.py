"""The walk-forward outcome scorer against a plain-Python scorer and hand-made cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btcscan.kernels.outcomes import EXPIRED, INVALIDATED, OPEN, TARGET, score_events
from tests.reference import score_ref

NAN = math.nan


def candles(closes, wick=1.0):
    c = np.array(closes, dtype=float)
    return c + wick, c - wick, c


def test_long_reaches_target_before_invalidation():
    h, lo, c = candles([100, 101, 103, 106, 110, 95])
    out = score_events(h, lo, c, [0], [1], [[108.0, 112.0]], [96.0], horizon=10)
    assert out["target_bar"][0].tolist() == [4, -1]  # 110 + 1 wick touches 108; 112 never
    assert out["invalid_bar"][0] == 5 and out["status"][0] == TARGET
    assert out["mfe_pct"][0] == pytest.approx(11.0)
    assert out["mae_pct"][0] == pytest.approx(-6.0)  # bar 5: low 94 vs entry 100
    assert not out["failed"][0]


def test_same_candle_counts_invalidation_first():
    # bar 1 spans 90..115: both the 110 target and the 95 invalidation inside one candle
    h = np.array([101.0, 115.0])
    lo = np.array([99.0, 90.0])
    c = np.array([100.0, 100.0])
    out = score_events(h, lo, c, [0], [1], [[110.0]], [95.0], horizon=5)
    assert out["status"][0] == INVALIDATED and out["target_bar"][0, 0] == -1


def test_short_fails_in_bulkowskis_sense():
    # breakdown at 100, moves only 3% lower, then closes back above 100
    h, lo, c = candles([100, 98, 98, 101, 104], wick=1.0)
    out = score_events(h, lo, c, [0], [-1], [[80.0]], [NAN], horizon=10)
    assert out["failed"][0] and out["mfe_pct"][0] == pytest.approx(3.0)
    assert out["status"][0] == OPEN  # horizon runs past the data: still open


def test_invalidation_on_close_ignores_wicks_and_still_wins_a_shared_candle():
    # long at 100, invalidation 95: bar 1 wicks to 94 but closes 99; bar 3 reaches the 110
    # target intrabar and closes 94 below the invalidation
    h = np.array([100.5, 101.0, 104.0, 111.0])
    lo = np.array([99.5, 94.0, 98.0, 93.0])
    c = np.array([100.0, 99.0, 103.0, 94.0])
    touch = score_events(h, lo, c, [0], [1], [[110.0]], [95.0], horizon=5)
    assert touch["status"][0] == INVALIDATED and touch["invalid_bar"][0] == 1
    close = score_events(h, lo, c, [0], [1], [[110.0]], [95.0], horizon=5, on_close=[True])
    assert close["status"][0] == INVALIDATED and close["invalid_bar"][0] == 3
    assert close["target_bar"][0, 0] == -1  # same candle: the invalidation counts
    assert close["mae_pct"][0] == pytest.approx(-7.0)  # the 93 low of the invalidating candle


def test_expired_and_no_target():
    h, lo, c = candles([100] * 12)
    out = score_events(h, lo, c, [0, 1], [1, 1], [[150.0], [NAN]], [50.0, 50.0], horizon=5)
    assert out["status"].tolist() == [EXPIRED, EXPIRED]
    assert out["resolved_bar"].tolist() == [5, 6]


def test_only_candles_after_the_event_are_read():
    """Shifting history: anything at or before the event bar cannot change its outcome."""
    rng = np.random.default_rng(5)
    c = 100 + np.cumsum(rng.normal(size=300))
    h, lo = c + rng.random(300), c - rng.random(300)
    args = ([150], [1], [[c[150] * 1.05]], [c[150] * 0.95])
    a = score_events(h, lo, c, *args, horizon=60)
    h2, lo2 = h.copy(), lo.copy()
    h2[:150] = 1e9  # wild history before the event (the event's own close is the entry)
    lo2[:150] = 1e-9
    c2 = c.copy()
    c2[:150] = 1.0
    b = score_events(h2, lo2, c2, *args, horizon=60)
    for k in a:
        assert np.array_equal(a[k], b[k])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(50, 150), min_size=2, max_size=80), st.data())
def test_matches_plain_python_scorer(closes, data):
    c = np.array(closes)
    h = c * (1 + data.draw(st.floats(0, 0.05)))
    lo = c * (1 - data.draw(st.floats(0, 0.05)))
    start = data.draw(st.integers(0, len(c) - 1))
    d = data.draw(st.sampled_from([1, -1]))
    t1 = c[start] * (1 + d * data.draw(st.floats(0.0, 0.3)))
    t2 = data.draw(st.sampled_from([NAN, c[start] * (1 + d * 0.4)]))
    inv = data.draw(st.sampled_from([NAN, c[start] * (1 - d * 0.1)]))
    horizon = data.draw(st.integers(1, 50))
    on_close = data.draw(st.booleans())
    out = score_events(h, lo, c, [start], [d], [[t1, t2]], [inv], horizon, on_close=[on_close])
    ref = score_ref(h, lo, c, start, d, [t1, t2], inv, horizon, on_close=on_close)
    assert out["target_bar"][0].tolist() == ref["target_bar"]
    for k in ("invalid_bar", "resolved_bar", "status"):
        assert int(out[k][0]) == ref[k], k
    assert bool(out["failed"][0]) == ref["failed"]
    assert out["mae_pct"][0] == pytest.approx(ref["mae_pct"])
    assert out["mfe_pct"][0] == pytest.approx(ref["mfe_pct"])


def test_bad_input():
    h, lo, c = candles([1, 2, 3])
    with pytest.raises(ValueError, match="outside the candles"):
        score_events(h, lo, c, [5], [1], [[2.0]], [NAN], 3)
    with pytest.raises(ValueError, match="horizon"):
        score_events(h, lo, c, [0], [1], [[2.0]], [NAN], 0)
