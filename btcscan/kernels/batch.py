"""The whole pattern engine over many independent series at once (rows of a 2-D array).

Per series: ATR, RSI, raw pivots, the causal zig-zag, the wedge scan and the divergence
scan -- the same kernels :func:`btcscan.patterns.detect_patterns` uses, in three parallel
steps (``prange``), each task writing only its own scratch row and its own columns of the
counts:

1. two tasks per series, each one pass over blocks of ``FUSED_BLOCK`` bars: the price
   side (ATR, raw pivots, zig-zag: :func:`_price_pass`) and the RSI side (RSI, RSI pivots,
   divergences: :func:`_rsi_pass`). Neither keeps a whole-series indicator array or raw
   pivot list; with few long series the RSI pass stops at ``RSI_FIRST_PART`` percent of the
   bars;
2. the wedge windows at every pivot change (the costly part of the wedge scan), in chunks
   of each series' pivot log: one chunk per series when there are many series, several
   per series when there are few long ones, so one long series uses every core
   (:func:`btcscan.kernels.trendlines._scan_wedges_into` in ``WINDOWS`` mode);
3. per series, the walk that resolves wedges in order from step 2's records, and beside
   it the rest of the RSI pass.

The result is the same as scanning each series alone. Series are processed in blocks of
``block`` rows with scratch allocated once per call and reused, so peak memory depends
on ``block`` and the series length, not on the number of series.

Returns per-series counts (wedges found, wedges broken up, broken down, divergences),
which is what a screen over many markets or a benchmark needs; call
:func:`btcscan.patterns.detect_patterns` on one series for the full typed report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from btcscan.kernels import trendlines as tl
from btcscan.kernels._jit import jit, pjit, prange
from btcscan.kernels.divergence import _divergence_steps
from btcscan.kernels.pivots import (
    _raw_side,
    _zigzag_steps,
    capacity,
    pivot_scratch,
    side_capacity,
)
from btcscan.kernels.rolling import _atr_fill, _atr_start, _rsi_fill, _rsi_start

if TYPE_CHECKING:  # kernels never import the patterns package at run time
    from btcscan.patterns.params import PatternParams

COUNT_WEDGES, COUNT_UP, COUNT_DOWN, COUNT_DIVERGENCES = range(4)
MIN_CHUNK_BARS = 20_000  # a series is split for the wedge windows only when this long
#: bars per block of the fused passes: what one block reads stays in cache for the next
#: stage, so each input bar comes from memory once, not once per stage
FUSED_BLOCK = 4096
#: with few long series, the share (percent of bars) of the RSI pass run beside the price
#: pass; the rest runs beside the wedge walk (measured on 1e7 bars: the RSI pass costs
#: about 1.25x the price pass, and the walk about a fifth of the price pass)
RSI_FIRST_PART = 80


@jit
def _raw_window(w, a0, left, right, is_high, out, vals, k, fscr, iscr):
    """Raw pivots of the window ``w`` (bars ``a0 ..``; pivots at its bars ``left ..
    len(w) - right - 1``) appended to ``out`` from ``k`` on, with their values in ``vals``
    unless it is empty; returns the new count."""
    got = _raw_side(w, left, right, is_high, out[k:], fscr, iscr)
    for j in range(k, k + got):
        if vals.shape[0] > 0:
            vals[j] = w[out[j]]
        out[j] += a0
    return k + got


@jit
def _price_pass(high, low, close, atr_n, left, right, min_swing, buf, hi_idx, lo_idx,
                log_bar, log_confirm, log_price, log_side, log_sup, log_atr, stack, fscr, iscr):
    """ATR, raw pivots of both sides and the zig-zag in one pass over blocks of
    ``FUSED_BLOCK`` bars (each stage as its own kernel computes it, in the same order: the
    same values); returns the number of log entries.

    The ATR is kept only for the block and the ``right`` bars after it, in ``buf``
    (``FUSED_BLOCK + right`` values), and at each log entry's confirmation bar
    (``log_atr``, which is all the wedge scan reads): no whole-series ATR array. The raw
    pivots too are kept only for the block (``hi_idx`` / ``lo_idx`` hold a block's worth,
    :func:`block_side_capacity`): the zig-zag has taken all of them when the block ends.
    """
    n = close.shape[0]
    f, prev = _atr_start(high, low, close, atr_n)
    i = 0  # next bar whose ATR goes to buf
    base = 0  # bar held in buf[0]
    nh = 0
    nl = 0
    p = 0
    q = 0
    ns = 0
    nlog = 0
    s = left
    while s < n - right:
        e = min(s + FUSED_BLOCK, n - right)
        if s > base:  # slide: keep the bars from s on
            for b in range(s, i):
                buf[b - s] = buf[b - base]
            base = s
        if i < e + right:  # the zig-zag reads ATR at the block's pivots and confirmations
            prev = _atr_fill(high, low, close, atr_n, buf, base, i, e + right, f, prev)
            i = e + right
        nh = _raw_window(high[s - left:e + right], s - left, left, right, True, hi_idx,
                         buf[:0], nh, fscr, iscr)
        nl = _raw_window(low[s - left:e + right], s - left, left, right, False, lo_idx,
                         buf[:0], nl, fscr, iscr)
        p, q, ns, nlog = _zigzag_steps(high, low, buf, base, hi_idx, p, nh, lo_idx, q, nl,
                                       right, min_swing, log_bar, log_confirm, log_price,
                                       log_side, log_sup, log_atr, stack, ns, nlog)
        nh = nl = p = q = 0  # every raw pivot so far went to the zig-zag
        s = e
    return nlog


@jit
def _rsi_pass(close, high, low, rsi_n, left, right, min_bars, max_bars, hidden, buf, ih, il,
              vh, vl, out, fscr, iscr, state, fstate, stop):
    """RSI, its raw pivots of both sides and the divergence scan in one pass over blocks
    of ``FUSED_BLOCK`` bars (the same values as the stages run one after the other);
    returns the number of divergence records so far.

    The RSI is kept only for the block being scanned and the ``left + right`` bars around
    it, in ``buf`` (``FUSED_BLOCK + left + right`` values), and at the pivots (``vh`` /
    ``vl``): a screen needs no 1e7-value RSI array (whose fresh pages cost as much as the
    arithmetic). The RSI pivots are kept only for the block, after the last pivot of each
    side before it (all a divergence compares with), in ``ih`` / ``il`` / ``vh`` / ``vl``
    (a block's worth and one more, :func:`block_side_capacity`): no whole-series pivot
    lists either. Resumable: ``state`` (int64, 10) and ``fstate`` (float64, 3) carry the
    pass from one call to the next (``state[0] == 0`` starts it); a call runs the blocks
    that start before bar ``stop``, so a long series can run most of it beside the price
    pass and the rest beside the wedge walk.
    """
    n = close.shape[0]
    if state[0] == 0:
        f, gain, loss, prev = _rsi_start(close, rsi_n)
        i = 0  # next bar whose RSI goes to buf
        base = 0  # bar held in buf[0]
        s = left
        nh = 0
        nl = 0
        p = 0
        q = 0
        k = 0
    else:
        i, s, nh, nl, p, q, k, base, f = state[1:10]
        gain, loss, prev = fstate
    while s < n - right and s < stop:
        e = min(s + FUSED_BLOCK, n - right)
        a0 = s - left
        if a0 > base:  # slide: keep the bars from a0 on
            for b in range(a0, i):
                buf[b - a0] = buf[b - base]
            base = a0
        hi = e + right  # the pivots of bars before e need RSI up to e + right - 1
        if i < hi:
            gain, loss, prev = _rsi_fill(close, rsi_n, buf, base, i, hi, f, gain, loss, prev)
            i = hi
        nh = _raw_window(buf[:hi - base], base, left, right, True, ih, vh, nh, fscr, iscr)
        nl = _raw_window(buf[:hi - base], base, left, right, False, il, vl, nl, fscr, iscr)
        p, q, k = _divergence_steps(high, low, right, min_bars, max_bars, hidden, ih, vh, p, nh,
                                    il, vl, q, nl, out, k)
        # keep only each side's last pivot, the one the next block's first is compared with
        if nh > 1:
            ih[0] = ih[nh - 1]
            vh[0] = vh[nh - 1]
            nh = p = 1
        if nl > 1:
            il[0] = il[nl - 1]
            vl[0] = vl[nl - 1]
            nl = q = 1
        s = e
    saved = (1, i, s, nh, nl, p, q, k, base, f)
    for j in range(10):
        state[j] = saved[j]
    fstate[0], fstate[1], fstate[2] = gain, loss, prev
    return k


@jit
def _wedges(c, r, q, max_piv, major, minor, touch, ctol, min_dur, max_dur, conv, move, height,
            s_latr, s_bar, s_conf, s_price, s_side, s_sup, s_nlog, s_mask, mode, nch, s_stack,
            s_wi, s_wf, counts):
    """Wedge scan of series ``r`` (scratch row ``q``) and its three counts."""
    nw = tl._scan_wedges_into(c, s_latr[q], s_bar[q], s_conf[q], s_price[q], s_side[q],
                              s_sup[q], 0, s_nlog[q], max_piv, major, minor, touch, ctol,
                              min_dur, max_dur, conv, move, height, mode, nch, s_mask[q],
                              s_stack[q],
                              np.empty((4, max_piv + 1)), s_wi[q], s_wf[q])
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


@pjit
def _block(high, low, close, r0, nrows, nch, atr_p, rsi_p, left, right, swing, max_piv, major,
           minor, touch, ctol, min_dur, max_dur, conv, move, height, dleft, dright, dmin, dmax,
           hidden, s_abuf, s_latr, s_rbuf, s_hf, s_lf, s_bar, s_conf, s_price, s_side, s_sup,
           s_nlog, s_mask, s_stack, s_wi, s_wf, s_dh, s_dl, s_dvh, s_dvl, s_div, s_pf, s_pi,
           s_rst, s_rsf, counts):
    # 1. two independent tasks per series: the price side (ATR, pivots, zig-zag) and the
    # RSI side (RSI, RSI pivots, divergences); each writes only its own scratch row and its
    # own columns of counts, so one long series also uses two cores
    for k in prange(2 * nrows):
        q = k // 2
        r = r0 + q
        h = high[r]
        lo = low[r]
        c = close[r]
        if k % 2 == 0:
            s_nlog[q] = _price_pass(h, lo, c, atr_p, left, right, swing, s_abuf[q], s_hf[q],
                                    s_lf[q], s_bar[q], s_conf[q], s_price[q], s_side[q],
                                    s_sup[q], s_latr[q], s_stack[q], s_pf[k], s_pi[k])
            if nch == 1:  # many series: each one's whole wedge scan in this task
                _wedges(c, r, q, max_piv, major, minor, touch, ctol, min_dur, max_dur, conv,
                        move, height, s_latr, s_bar, s_conf, s_price, s_side, s_sup, s_nlog,
                        s_mask, tl.WALK, 1, s_stack, s_wi, s_wf, counts)
        else:
            # few long series: the RSI pass stops short here and finishes in step 3, beside
            # the wedge walk (it is the longer of the two tasks of this step)
            stop = c.shape[0] * RSI_FIRST_PART // 100 if nch > 1 else c.shape[0]
            s_rst[q, 0] = 0
            counts[r, 3] = _rsi_pass(c, h, lo, rsi_p, dleft, dright, dmin, dmax, hidden,
                                     s_rbuf[q], s_dh[q], s_dl[q], s_dvh[q], s_dvl[q], s_div[q],
                                     s_pf[k], s_pi[k], s_rst[q], s_rsf[q], stop)
    if nch == 1:
        return
    # 2. few long series: the wedge windows at every pivot change, in nch chunks of each
    # series' pivot log (the costly part of the wedge scan; chunks are independent)
    for k in prange(nrows * nch):
        q = k // nch
        j = k % nch
        nlog = s_nlog[q]
        e0 = tl._chunk_start(s_conf[q], nlog, nlog * j // nch)
        e1 = tl._chunk_start(s_conf[q], nlog, nlog * (j + 1) // nch)
        # the chunk's stack: a part of the series' own, of max_piv + e1 - e0 entries
        stack = s_stack[q, e0 + j * max_piv:e1 + (j + 1) * max_piv]
        tl._scan_wedges_into(close[r0 + q], s_latr[q], s_bar[q], s_conf[q], s_price[q],
                             s_side[q], s_sup[q], e0, e1, max_piv, major, minor, touch, ctol,
                             min_dur, max_dur, conv, move, height, tl.WINDOWS, nch, s_mask[q],
                             stack, np.empty((4, max_piv + 1)), s_wi[q], s_wf[q])
    # 3. per series, the walk that resolves wedges in order (cheap: only bars where step 2
    # found a window are examined again), and beside it the rest of the RSI pass
    for k in prange(2 * nrows):
        q = k // 2
        r = r0 + q
        if k % 2 == 0:
            _wedges(close[r], r, q, max_piv, major, minor, touch, ctol, min_dur, max_dur, conv,
                    move, height, s_latr, s_bar, s_conf, s_price, s_side, s_sup, s_nlog, s_mask,
                    tl.WALK_MASKED, nch, s_stack, s_wi, s_wf, counts)
        else:
            counts[r, 3] = _rsi_pass(close[r], high[r], low[r], rsi_p, dleft, dright, dmin,
                                     dmax, hidden, s_rbuf[q], s_dh[q], s_dl[q], s_dvh[q],
                                     s_dvl[q], s_div[q], s_pf[k], s_pi[k], s_rst[q], s_rsf[q],
                                     close.shape[1])


def block_side_capacity(n: int, left: int, right: int) -> int:
    """Room for the raw pivots of one side that a fused pass keeps: one block's window
    (at most ``FUSED_BLOCK + left + right`` bars, see
    :func:`btcscan.kernels.pivots.side_capacity`) and the one pivot kept from before."""
    return side_capacity(min(FUSED_BLOCK, n) + left + right, left, right) + 1


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
    sc = block_side_capacity(n, p.pivot_left, p.pivot_right)
    dsc = block_side_capacity(n, p.div_pivot_left, p.div_pivot_right)
    threads = numba.get_num_threads()
    mp = p.max_pivots
    if mp > tl.MAX_PIVOTS_LIMIT:
        raise ValueError(f"max_pivots must be <= {tl.MAX_PIVOTS_LIMIT}")
    scratch = {
        # the fused passes' windows of ATR and RSI (a block is never longer than a series)
        "s_abuf": np.empty((b, min(FUSED_BLOCK, n) + p.pivot_right)),
        "s_latr": np.empty((b, cap)),
        "s_rbuf": np.empty((b, min(FUSED_BLOCK, n) + p.div_pivot_left + p.div_pivot_right)),
        "s_hf": np.empty((b, sc), dtype=np.int64), "s_lf": np.empty((b, sc), dtype=np.int64),
        "s_dh": np.empty((b, dsc), dtype=np.int64), "s_dl": np.empty((b, dsc), dtype=np.int64),
        "s_dvh": np.empty((b, dsc)), "s_dvl": np.empty((b, dsc)),
        "s_bar": np.empty((b, cap), dtype=np.int64), "s_conf": np.empty((b, cap), dtype=np.int64),
        "s_price": np.empty((b, cap)), "s_side": np.empty((b, cap), dtype=np.int8),
        "s_sup": np.empty((b, cap), dtype=np.int64), "s_nlog": np.zeros(b, dtype=np.int64),
        "s_mask": np.empty((b, cap), dtype=np.int64),
        # the zig-zag's stack, then the wedge windows' chunks' (each max_piv more) and the
        # walk's
        "s_stack": np.empty((b, cap + mp * (4 * threads + 1)), dtype=np.int64),
        "s_wi": np.empty((b, cap, tl.WI_PIV0 + mp), dtype=np.int64),
        "s_wf": np.empty((b, cap, tl.WF_COLS)),
        "s_div": np.empty((b, dcap, 4), dtype=np.int64),
    }
    # pivot finder scratch per task (two per series), large enough for both sides' bars
    pf, pi = pivot_scratch(max(p.pivot_left, p.div_pivot_left),
                           max(p.pivot_right, p.div_pivot_right))
    scratch["s_pf"] = np.empty((2 * b, pf.size))
    scratch["s_pi"] = np.zeros((2 * b, pi.size), dtype=np.int64)
    scratch["s_rst"] = np.zeros((b, 10), dtype=np.int64)  # the RSI pass between steps 1 and 3
    scratch["s_rsf"] = np.zeros((b, 3))
    counts = np.zeros((rows, 4), dtype=np.int64)
    for r0 in range(0, rows, b):
        nb = min(b, rows - r0)
        # few long series: split each one's wedge windows into chunks for every core
        nch = max(1, min(-(-4 * threads // nb), n // MIN_CHUNK_BARS)) if nb < 2 * threads else 1
        _block(h, lo, c, r0, nb, nch, p.atr_period, p.rsi_period, p.pivot_left,
               p.pivot_right, float(p.min_swing_atr), p.max_pivots, p.min_touches_major,
               p.min_touches_minor, float(p.touch_tolerance_atr), float(p.close_tolerance_atr),
               p.min_duration_bars, p.max_duration_bars, float(p.convergence_ratio),
               float(p.min_line_move_atr), float(p.min_height_atr), p.div_pivot_left,
               p.div_pivot_right, p.div_min_bars, p.div_max_bars, bool(p.include_hidden),
               **scratch, counts=counts)
    return counts
