"""RSI divergences, TradingView's built-in rules, reported at the bar they become knowable.

Pivots are found **on the RSI** (default left=5, right=5; earliest of equal values wins,
windows holding NaN give no pivot -- see :mod:`btcscan.kernels.pivots`). When an RSI pivot
low at bar ``i`` is confirmed (bar ``i + right``), it is compared with the most recent
earlier RSI pivot low ``j``; if ``min_bars <= i - j <= max_bars`` (default 5..60):

* regular bullish: price lower low (``low[i] < low[j]``), RSI higher low;
* hidden bullish: price higher low, RSI lower low.

Pivot highs mirror this with ``high``: regular bearish = price higher high, RSI lower high;
hidden bearish = price lower high, RSI higher high. Every record is known at ``i + right``
and uses no bar after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from btcscan.kernels._jit import jit
from btcscan.kernels.pivots import _raw_pivot_list, capacity, pivot_scratch, side_capacity

if TYPE_CHECKING:  # kernels never import the patterns package at run time
    from btcscan.patterns.params import PatternParams

REGULAR_BEARISH, REGULAR_BULLISH, HIDDEN_BEARISH, HIDDEN_BULLISH = 1, 2, 3, 4
DI_KIND, DI_FIRST, DI_SECOND, DI_KNOWN = range(4)


@jit
def _divergence_steps(high, low, right, min_bars, max_bars, hidden, ih, vh, p, nh, il, vl, q,
                      nl, out, k):
    """Records for RSI pivots ``ih[p:nh]`` / ``il[q:nl]`` (bar lists, increasing; ``vh`` /
    ``vl`` the RSI at them), each compared with the pivot before it on its side, visited in
    bar order (a high before a low on the same bar); rows are written from ``out[k]`` on.
    Returns ``(p, q, k)``.
    Every pivot at an earlier bar than the last one visited must already be in the lists
    (both sides), so a caller that finds pivots block by block can run it after each."""
    while p < nh or q < nl:
        if q >= nl or (p < nh and ih[p] <= il[q]):
            i = ih[p]
            if p > 0:
                j = ih[p - 1]
                if min_bars <= i - j <= max_bars:
                    kind = 0
                    if high[i] > high[j] and vh[p] < vh[p - 1]:
                        kind = REGULAR_BEARISH
                    elif hidden and high[i] < high[j] and vh[p] > vh[p - 1]:
                        kind = HIDDEN_BEARISH
                    if kind > 0:
                        out[k, 0] = kind
                        out[k, 1] = j
                        out[k, 2] = i
                        out[k, 3] = i + right
                        k += 1
            p += 1
        else:
            i = il[q]
            if q > 0:
                j = il[q - 1]
                if min_bars <= i - j <= max_bars:
                    kind = 0
                    if low[i] < low[j] and vl[q] > vl[q - 1]:
                        kind = REGULAR_BULLISH
                    elif hidden and low[i] > low[j] and vl[q] < vl[q - 1]:
                        kind = HIDDEN_BULLISH
                    if kind > 0:
                        out[k, 0] = kind
                        out[k, 1] = j
                        out[k, 2] = i
                        out[k, 3] = i + right
                        k += 1
            q += 1
    return p, q, k


@jit
def _divergences_into(rsi, high, low, left, right, min_bars, max_bars, hidden, ih, il, vh, vl,
                      out, fscr, iscr):
    """Fill out (rows: kind, earlier pivot bar, later pivot bar, known bar); return the count.

    ``ih``/``il`` are scratch for the RSI pivot bars of each side and ``vh``/``vl`` for the
    RSI at them (see ``side_capacity``), ``fscr``/``iscr`` for the pivot finder
    (``pivot_scratch``).
    """
    nh = _raw_pivot_list(rsi, left, right, True, ih, fscr, iscr)
    nl = _raw_pivot_list(rsi, left, right, False, il, fscr, iscr)
    for p in range(nh):
        vh[p] = rsi[ih[p]]
    for q in range(nl):
        vl[q] = rsi[il[q]]
    return _divergence_steps(high, low, right, min_bars, max_bars, hidden, ih, vh, 0, nh, il,
                             vl, 0, nl, out, 0)[2]


def divergences(rsi, high, low, params: PatternParams) -> np.ndarray:
    """Divergence records, int64 rows ``(kind, earlier bar, later bar, known bar)``.

    ``params`` is a :class:`btcscan.patterns.PatternParams` (``div_pivot_left/right``,
    ``div_min_bars``, ``div_max_bars``, ``include_hidden``).

    ``kind`` is one of ``REGULAR_BEARISH``, ``REGULAR_BULLISH``, ``HIDDEN_BEARISH``,
    ``HIDDEN_BULLISH``; rows are in the order they became known.
    """
    r = np.ascontiguousarray(rsi, dtype=np.float64)
    h = np.ascontiguousarray(high, dtype=np.float64)
    lo = np.ascontiguousarray(low, dtype=np.float64)
    if r.ndim != 1 or not (r.shape == h.shape == lo.shape):
        raise ValueError("rsi, high and low must be one-dimensional with the same length")
    left, right = int(params.div_pivot_left), int(params.div_pivot_right)
    min_bars, max_bars = params.div_min_bars, params.div_max_bars
    include_hidden = params.include_hidden
    if left < 1 or right < 1:
        raise ValueError("left/right must be >= 1")
    n = r.shape[0]
    sc = side_capacity(n, left, right)
    ih = np.empty(sc, dtype=np.int64)
    il = np.empty(sc, dtype=np.int64)
    out = np.empty((capacity(n, left, right), 4), dtype=np.int64)
    k = _divergences_into(r, h, lo, left, right, int(min_bars), int(max_bars),
                          bool(include_hidden), ih, il, np.empty(sc), np.empty(sc), out,
                          *pivot_scratch(left, right))
    return out[:k]
