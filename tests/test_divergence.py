import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btcscan.kernels import divergence as kd
from btcscan.kernels.rolling import rsi
from btcscan.patterns import PatternParams, detect_patterns
from btcscan.patterns._fmt import when
from tests import pattern_reference as ref
from tests.strategies import candles, levels


@settings(max_examples=200, deadline=None)
@given(c=candles(max_size=200), hidden=st.booleans(), left=st.integers(1, 6),
       right=st.integers(1, 6), lo=st.integers(1, 10), span=st.integers(0, 60))
def test_divergences_match_reference(c, hidden, left, right, lo, span):
    high, low, close = c
    r = rsi(close, 14)  # NaN warm-up of 14 bars
    np.testing.assert_allclose(r, np.array(ref.rsi(close.tolist(), 14)), atol=1e-9)
    p = PatternParams(div_pivot_left=left, div_pivot_right=right, div_min_bars=lo,
                      div_max_bars=lo + span, include_hidden=hidden)
    got = kd.divergences(r, high, low, p)
    want = ref.divergences(r.tolist(), high.tolist(), low.tolist(), left, right, lo, lo + span,
                           hidden)
    assert [tuple(x) for x in got.tolist()] == want
    # rows in the order they became known: the report takes the recent ones as a tail
    assert (np.diff(got["known"]) >= 0).all()


@settings(max_examples=100, deadline=None)
@given(x=levels(min_size=0, max_size=150, nan_prefix=True))
def test_divergences_on_flat_runs_and_nan_warmups(x):
    # an "RSI" with ties, plateaus and a NaN warm-up; price = the same series
    got = kd.divergences(x, x, x, PatternParams(include_hidden=True))
    want = ref.divergences(x.tolist(), x.tolist(), x.tolist(), 5, 5, 5, 60, True)
    assert [tuple(v) for v in got.tolist()] == want


def test_hidden_only_on_request(btc_daily):
    regular = detect_patterns(btc_daily).divergences
    both = detect_patterns(btc_daily, PatternParams(include_hidden=True)).divergences
    assert {d.kind for d in regular} == {"regular_bearish", "regular_bullish"}
    assert {d.kind for d in both} >= {"hidden_bearish", "hidden_bullish"}
    assert set(regular) <= set(both)


def test_divergence_fields_and_known_at(btc_weekly):
    rep = detect_patterns(btc_weekly)
    r = rsi(btc_weekly["close"], 14)
    for d in rep.divergences:
        assert d.known_at_bar == d.second_bar + 5
        assert 5 <= d.second_bar - d.first_bar <= 60
        px = btc_weekly["high"] if d.kind.endswith("bearish") else btc_weekly["low"]
        assert (d.first_price, d.second_price) == (px[d.first_bar], px[d.second_bar])
        assert (d.first_rsi, d.second_rsi) == (r[d.first_bar], r[d.second_bar])
        if d.kind == "regular_bearish":
            assert d.second_price > d.first_price and d.second_rsi < d.first_rsi
        else:
            assert d.second_price < d.first_price and d.second_rsi > d.first_rsi
    # the widely noted weekly bearish divergence into the January 2025 high
    dec_jan = [d for d in rep.divergences if d.kind == "regular_bearish"
               and when(d.first_ms) == "2024-12-09" and when(d.second_ms) == "2025-01-20"]
    assert len(dec_jan) == 1
    assert when(dec_jan[0].known_at_ms) == "2025-02-24"
    assert dec_jan[0].second_rsi == pytest.approx(68.2, abs=0.05)
