"""The batch engine's fused passes (ATR + pivots + zig-zag; RSI + RSI pivots + divergences,
block by block, keeping each indicator and the raw pivots only for the block in hand) give
exactly what the stages give run one after the other, which is what the one-series scan
(detect_patterns) runs."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from btcscan.kernels import batch
from btcscan.kernels.divergence import divergences
from btcscan.kernels.pivots import capacity, pivot_scratch, raw_pivots, zigzag
from btcscan.kernels.rolling import atr, rsi
from btcscan.patterns import PatternParams
from tests.strategies import candles
from tests.synth import random_walk

GUARD = 16  # entries past each raw pivot list, which no pass may write


def _lists(size, k, dtype):
    """``k`` lists of the size the engine allocates, each followed by GUARD sentinel
    entries (the kernels do not check bounds: a list too small would write past it)."""
    full = [np.full(size + GUARD, -9, dtype=dtype) for _ in range(k)]
    return full, [f[:size] for f in full]


def _fused(h, lo, c, p: PatternParams, stops=()):
    n = c.shape[0]
    cap = capacity(n, p.pivot_left, p.pivot_right) + 1
    sc = batch.block_side_capacity(n, p.pivot_left, p.pivot_right)
    dsc = batch.block_side_capacity(n, p.div_pivot_left, p.div_pivot_right)
    pfull, (hf, lf) = _lists(sc, 2, np.int64)
    fs, fi = pivot_scratch(max(p.pivot_left, p.div_pivot_left),
                           max(p.pivot_right, p.div_pivot_right))
    abuf = np.full(batch.FUSED_BLOCK + p.pivot_right, -7.0)  # garbage where nothing is written
    log = {k: np.empty(cap, dtype=np.int8 if k == "side" else
                       (np.float64 if k in ("price", "atr") else np.int64))
           for k in ("bar", "confirm", "price", "side", "superseded_at", "atr")}
    nlog = batch._price_pass(h, lo, c, p.atr_period, p.pivot_left, p.pivot_right,
                             float(p.min_swing_atr), abuf, hf, lf, log["bar"], log["confirm"],
                             log["price"], log["side"], log["superseded_at"], log["atr"],
                             np.empty(cap, dtype=np.int64), fs, fi)
    buf = np.full(batch.FUSED_BLOCK + p.div_pivot_left + p.div_pivot_right, -7.0)
    out = np.empty((capacity(n, p.div_pivot_left, p.div_pivot_right), 4), dtype=np.int64)
    dfull, (ih, il) = _lists(dsc, 2, np.int64)
    vfull, (vh, vl) = _lists(dsc, 2, np.float64)
    state, fstate = np.zeros(10, dtype=np.int64), np.zeros(3)
    for stop in (*stops, n):  # the pass resumed at each stop, then run to the end
        k = batch._rsi_pass(c, h, lo, p.rsi_period, p.div_pivot_left, p.div_pivot_right,
                            p.div_min_bars, p.div_max_bars, bool(p.include_hidden), buf, ih, il,
                            vh, vl, out, fs, fi, state, fstate, stop)
    for f in pfull + dfull + vfull:
        assert (f[-GUARD:] == -9).all()  # nothing written past the lists
    nh, nl = state[3], state[4]
    return {key: v[:nlog] for key, v in log.items()}, (ih[:nh], vh[:nh], il[:nl], vl[:nl]), \
        out[:k]


def _assert_same(h, lo, c, p: PatternParams, stops=()):
    log, (ih, vh, il, vl), div = _fused(h, lo, c, p, stops)
    a0 = atr(h, lo, c, p.atr_period)
    r0 = rsi(c, p.rsi_period)
    log0 = zigzag(h, lo, a0, p.pivot_left, p.pivot_right, p.min_swing_atr)
    # the pass keeps no whole ATR array: the log holds the ATR at each confirmation bar
    assert np.array_equal(log0["atr"], a0[log0["confirm"]], equal_nan=True)
    # the RSI pivots are kept with their RSI values (the pass keeps no whole RSI array),
    # and only for the block: what is left at the end is each side's last pivot
    for x, v, is_high in ((ih, vh, True), (il, vl, False)):
        want = np.flatnonzero(raw_pivots(r0, p.div_pivot_left, p.div_pivot_right, high=is_high))
        assert np.array_equal(x, want[-1:])
        assert np.array_equal(v, r0[want[-1:]])
    assert set(log) == set(log0)
    for key in log0:
        assert np.array_equal(log[key], log0[key], equal_nan=True), key
    assert np.array_equal(div, divergences(r0, h, lo, p))
    return len(log0["bar"]), len(div)


@settings(max_examples=80, deadline=None)
@given(c=candles(min_size=0, max_size=200), nan=st.integers(0, 30), left=st.integers(1, 6),
       right=st.integers(1, 6), period=st.integers(1, 20), hidden=st.booleans(),
       stop=st.integers(0, 220))
def test_fused_passes_equal_the_stages_on_short_candles(c, nan, left, right, period, hidden,
                                                        stop):
    h, lo, cl = (x.copy() for x in c)
    k = min(nan, len(cl))
    h[:k] = lo[:k] = cl[:k] = np.nan  # NaN warm-up
    p = PatternParams().replace(pivot_left=left, pivot_right=right, div_pivot_left=right,
                                div_pivot_right=left, atr_period=period, rsi_period=period,
                                include_hidden=hidden)
    _assert_same(h, lo, cl, p, (stop,))


def test_fused_passes_equal_the_stages_across_many_blocks():
    rng = np.random.default_rng(5)
    n = 5 * batch.FUSED_BLOCK + 123
    s = random_walk(rng, n)
    for p in (PatternParams(), PatternParams().replace(pivot_left=2, pivot_right=7,
                                                       min_swing_atr=0.0, include_hidden=True)):
        entries, divs = _assert_same(s["high"], s["low"], s["close"], p)
        assert entries > n // 20 and divs > 50
        # the RSI pass stopped part way (as the batch engine does with long series) and
        # resumed, once or several times, gives the same
        for stops in ((n * 4 // 5,), (1, 5000, 5000, 9000, 15000)):
            _assert_same(s["high"], s["low"], s["close"], p, stops)
