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

import numpy as np

from btcscan.kernels._jit import jit
from btcscan.kernels.pivots import _raw_pivots_into, capacity

REGULAR_BEARISH, REGULAR_BULLISH, HIDDEN_BEARISH, HIDDEN_BULLISH = 1, 2, 3, 4
DI_KIND, DI_FIRST, DI_SECOND, DI_KNOWN = range(4)


@jit
def _divergences_into(rsi, high, low, left, right, min_bars, max_bars, hidden, fh, fl, out):
    """Fill out (rows: kind, earlier pivot bar, later pivot bar, known bar); return the count."""
    n = rsi.shape[0]
    _raw_pivots_into(rsi, left, right, True, fh)
    _raw_pivots_into(rsi, left, right, False, fl)
    prev_h = -1
    prev_l = -1
    k = 0
    for t in range(right, n):
        i = t - right
        if fh[i] == 1:
            j = prev_h
            if j >= 0 and min_bars <= i - j <= max_bars:
                kind = 0
                if high[i] > high[j] and rsi[i] < rsi[j]:
                    kind = REGULAR_BEARISH
                elif hidden and high[i] < high[j] and rsi[i] > rsi[j]:
                    kind = HIDDEN_BEARISH
                if kind > 0:
                    out[k, 0] = kind
                    out[k, 1] = j
                    out[k, 2] = i
                    out[k, 3] = t
                    k += 1
            prev_h = i
        if fl[i] == 1:
            j = prev_l
            if j >= 0 and min_bars <= i - j <= max_bars:
                kind = 0
                if low[i] < low[j] and rsi[i] > rsi[j]:
                    kind = REGULAR_BULLISH
                elif hidden and low[i] > low[j] and rsi[i] < rsi[j]:
                    kind = HIDDEN_BULLISH
                if kind > 0:
                    out[k, 0] = kind
                    out[k, 1] = j
                    out[k, 2] = i
                    out[k, 3] = t
                    k += 1
            prev_l = i
    return k


def divergences(rsi, high, low, *, left: int = 5, right: int = 5, min_bars: int = 5,
                max_bars: int = 60, include_hidden: bool = False) -> np.ndarray:
    """Divergence records, int64 rows ``(kind, earlier bar, later bar, known bar)``.

    ``kind`` is one of ``REGULAR_BEARISH``, ``REGULAR_BULLISH``, ``HIDDEN_BEARISH``,
    ``HIDDEN_BULLISH``; rows are in the order they became known.
    """
    r = np.ascontiguousarray(rsi, dtype=np.float64)
    h = np.ascontiguousarray(high, dtype=np.float64)
    lo = np.ascontiguousarray(low, dtype=np.float64)
    if r.ndim != 1 or not (r.shape == h.shape == lo.shape):
        raise ValueError("rsi, high and low must be one-dimensional with the same length")
    left, right = int(left), int(right)
    if left < 1 or right < 1:
        raise ValueError("left/right must be >= 1")
    n = r.shape[0]
    fh = np.empty(n, dtype=np.int8)
    fl = np.empty(n, dtype=np.int8)
    out = np.empty((capacity(n, left, right), 4), dtype=np.int64)
    k = _divergences_into(r, h, lo, left, right, int(min_bars), int(max_bars),
                          bool(include_hidden), fh, fl, out)
    return out[:k]
