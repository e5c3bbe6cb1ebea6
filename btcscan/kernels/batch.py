"""The whole pattern engine over many independent series at once (rows of a 2-D array).

Per series: ATR, RSI, raw pivots, the causal zig-zag, the wedge scan and the divergence
scan -- the same kernels :func:`btcscan.patterns.detect_patterns` uses. Each series is two
independent tasks (price side: ATR, pivots, zig-zag, wedges; RSI side: RSI, RSI pivots,
divergences) and all tasks run in parallel (``prange``), each writing only its own scratch
row and its own columns of the counts. Series are
processed in blocks of ``block`` rows with scratch allocated once per call and reused, so
peak memory depends on ``block`` and the series length, not on the number of series.

Returns per-series counts (wedges found, wedges broken up, broken down, divergences),
which is what a screen over many markets or a benchmark needs; call
:func:`btcscan.patterns.detect_patterns` on one series for the full typed report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from btcscan.kernels import trendlines as tl
from btcscan.kernels._jit import pjit, prange
from btcscan.kernels.divergence import _divergences_into
from btcscan.kernels.pivots import _raw_pivot_list, _zigzag_into, capacity, side_capacity
from btcscan.kernels.rolling import _atr_into, _rsi_into

if TYPE_CHECKING:  # kernels never import the patterns package at run time
    from btcscan.patterns.params import PatternParams

COUNT_WEDGES, COUNT_UP, COUNT_DOWN, COUNT_DIVERGENCES = range(4)


@pjit
def _block(high, low, close, r0, nrows, atr_p, rsi_p, left, right, swing, max_piv, major, minor,
           touch, ctol, min_dur, max_dur, conv, move, height, dleft, dright, dmin, dmax, hidden,
           s_atr, s_rsi, s_hf, s_lf, s_bar, s_conf, s_price, s_side, s_sup, s_stack, s_wstack,
           s_wi, s_wf, s_dh, s_dl, s_div, counts):
    # two independent tasks per series: the price side (ATR, pivots, zig-zag, wedges) and
    # the RSI side (RSI, RSI pivots, divergences); each writes only its own scratch row and
    # its own columns of counts, so one long series also uses two cores
    for k in prange(2 * nrows):
        q = k // 2
        r = r0 + q
        h = high[r]
        lo = low[r]
        c = close[r]
        if k % 2 == 0:
            _atr_into(h, lo, c, atr_p, s_atr[q])
            nh = _raw_pivot_list(h, left, right, True, s_hf[q])
            nl = _raw_pivot_list(lo, left, right, False, s_lf[q])
            nlog = _zigzag_into(h, lo, s_atr[q], s_hf[q], nh, s_lf[q], nl, right, swing,
                                s_bar[q], s_conf[q], s_price[q], s_side[q], s_sup[q],
                                s_stack[q])
            nw = tl._scan_wedges_into(c, s_atr[q], s_bar[q], s_conf[q], s_price[q], s_side[q],
                                      s_sup[q], nlog, max_piv, major, minor, touch, ctol,
                                      min_dur, max_dur, conv, move, height, s_wstack[q],
                                      s_wi[q], s_wf[q])
            up = 0
            down = 0
            for w in range(nw):
                if s_wi[q, w, tl.WI_STATE] == tl.STATE_UP:
                    up += 1
                elif s_wi[q, w, tl.WI_STATE] == tl.STATE_DOWN:
                    down += 1
            counts[r, 0] = nw
            counts[r, 1] = up
            counts[r, 2] = down
        else:
            _rsi_into(c, rsi_p, s_rsi[q])
            counts[r, 3] = _divergences_into(s_rsi[q], h, lo, dleft, dright, dmin, dmax, hidden,
                                             s_dh[q], s_dl[q], s_div[q])


def batch_patterns(high2d, low2d, close2d, params: PatternParams, *,
                   block: int = 64) -> np.ndarray:
    """Pattern counts for every row (series) of 2-D float64 arrays of equal shape.

    ``params`` is a :class:`btcscan.patterns.PatternParams` (every default lives there).

    Returns int64 ``(n_series, 4)``: wedges found, of which broke up, broke down, and
    divergences found, over each whole series (states as of its last bar).
    """
    p = params
    h = np.ascontiguousarray(high2d, dtype=np.float64)
    lo = np.ascontiguousarray(low2d, dtype=np.float64)
    c = np.ascontiguousarray(close2d, dtype=np.float64)
    if c.ndim != 2 or not (h.shape == lo.shape == c.shape):
        raise ValueError("high2d, low2d and close2d must be 2-D arrays of the same shape")
    rows, n = c.shape
    b = max(1, min(int(block), rows))
    cap = capacity(n, p.pivot_left, p.pivot_right) + 1
    dcap = capacity(n, p.div_pivot_left, p.div_pivot_right)
    sc = side_capacity(n, p.pivot_left, p.pivot_right)
    dsc = side_capacity(n, p.div_pivot_left, p.div_pivot_right)
    mp = p.max_pivots
    scratch = {
        "s_atr": np.empty((b, n)), "s_rsi": np.empty((b, n)),
        "s_hf": np.empty((b, sc), dtype=np.int64), "s_lf": np.empty((b, sc), dtype=np.int64),
        "s_dh": np.empty((b, dsc), dtype=np.int64), "s_dl": np.empty((b, dsc), dtype=np.int64),
        "s_bar": np.empty((b, cap), dtype=np.int64), "s_conf": np.empty((b, cap), dtype=np.int64),
        "s_price": np.empty((b, cap)), "s_side": np.empty((b, cap), dtype=np.int8),
        "s_sup": np.empty((b, cap), dtype=np.int64), "s_stack": np.empty((b, cap), dtype=np.int64),
        "s_wstack": np.empty((b, cap), dtype=np.int64),
        "s_wi": np.empty((b, cap, tl.WI_PIV0 + mp), dtype=np.int64),
        "s_wf": np.empty((b, cap, tl.WF_COLS)),
        "s_div": np.empty((b, dcap, 4), dtype=np.int64),
    }
    counts = np.zeros((rows, 4), dtype=np.int64)
    for r0 in range(0, rows, b):
        _block(h, lo, c, r0, min(b, rows - r0), p.atr_period, p.rsi_period, p.pivot_left,
               p.pivot_right, float(p.min_swing_atr), p.max_pivots, p.min_touches_major,
               p.min_touches_minor, float(p.touch_tolerance_atr), float(p.close_tolerance_atr),
               p.min_duration_bars, p.max_duration_bars, float(p.convergence_ratio),
               float(p.min_line_move_atr), float(p.min_height_atr), p.div_pivot_left,
               p.div_pivot_right, p.div_min_bars, p.div_max_bars, bool(p.include_hidden),
               **scratch, counts=counts)
    return counts
