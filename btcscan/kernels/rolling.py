"""Rolling indicators with TA-Lib parity: SMA, Wilder RSI and Wilder ATR.

Each public function validates its input once, allocates the output with numpy (outside
the kernel: page faults on fresh memory are what make in-kernel ``np.empty`` slow at 1e7
bars) and calls a private ``@jit`` kernel that does arithmetic only. Pass ``out=`` to
reuse a buffer.

Parity: the kernels follow TA-Lib's order of operations (running-sum SMA; RSI and ATR
seeded with the simple mean of the first ``n`` changes / true ranges, then
``avg = (avg * (n - 1) + x) / n``), so results equal ``talib.SMA/RSI/ATR`` on the same
input. Like TA-Lib's Python wrapper, leading NaNs are skipped: the warm-up starts at the
first finite value. Values before the first full window are NaN.
"""

from __future__ import annotations

import numpy as np

from btcscan.kernels._jit import jit, pjit, prange


def _as_f64(x, name: str) -> np.ndarray:
    a = np.ascontiguousarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    return a


def _check_period(n: int) -> int:
    n = int(n)
    if n < 1:
        raise ValueError(f"period must be >= 1, got {n}")
    return n


def _out(out, shape) -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype=np.float64)
    if out.shape != shape or out.dtype != np.float64:
        raise ValueError(f"out must be float64 with shape {shape}")
    return out


@jit
def _first_finite(x):
    for i in range(x.shape[0]):
        if not np.isnan(x[i]):
            return i
    return x.shape[0]


@jit
def _sma_into(x, n, out):
    size = x.shape[0]
    out[:] = np.nan
    start = _first_finite(x)
    if size - start < n:
        return
    total = 0.0
    for i in range(start, start + n - 1):
        total += x[i]
    trailing = start
    for i in range(start + n - 1, size):
        total += x[i]
        value = total
        total -= x[trailing]
        trailing += 1
        out[i] = value / n


@jit
def _rsi_value(gain, loss):
    s = gain + loss
    if -1e-8 < s < 1e-8:  # TA-Lib's TA_IS_ZERO
        return 0.0
    return 100.0 * (gain / s)


@jit
def _rsi_into(x, n, out):
    size = x.shape[0]
    out[:] = np.nan
    start = _first_finite(x)
    if size - start <= n:
        return
    prev = x[start]
    gain = 0.0
    loss = 0.0
    for i in range(start + 1, start + n + 1):
        d = x[i] - prev
        prev = x[i]
        if d < 0:
            loss -= d
        else:
            gain += d
    inv = 1.0 / n  # TA-Lib multiplies by 1/n; dividing differs in the last bits
    loss *= inv
    gain *= inv
    out[start + n] = _rsi_value(gain, loss)
    for i in range(start + n + 1, size):
        d = x[i] - prev
        prev = x[i]
        loss *= n - 1
        gain *= n - 1
        if d < 0:
            loss -= d
        else:
            gain += d
        loss *= inv
        gain *= inv
        out[i] = _rsi_value(gain, loss)


@jit
def _true_range(h, l, prev_close):
    greatest = h - l
    v = abs(prev_close - h)
    if v > greatest:
        greatest = v
    v = abs(prev_close - l)
    if v > greatest:
        greatest = v
    return greatest


@jit
def _atr_into(high, low, close, n, out):
    size = close.shape[0]
    out[:] = np.nan
    start = 0
    while start < size and (np.isnan(high[start]) or np.isnan(low[start]) or np.isnan(close[start])):
        start += 1
    if size - start <= n:
        return
    if n == 1:
        for i in range(start + 1, size):
            out[i] = _true_range(high[i], low[i], close[i - 1])
        return
    # seed: running-sum SMA of the first n true ranges (bars start+1 .. start+n)
    total = 0.0
    for i in range(start + 1, start + n + 1):
        total += _true_range(high[i], low[i], close[i - 1])
    prev = total / n
    out[start + n] = prev
    for i in range(start + n + 1, size):
        tr = _true_range(high[i], low[i], close[i - 1])
        prev *= n - 1
        prev += tr
        prev /= n
        out[i] = prev


def sma(x, n: int, out: np.ndarray | None = None) -> np.ndarray:
    """Simple moving average of the last ``n`` values (NaN until the window is full)."""
    a = _as_f64(x, "x")
    n = _check_period(n)
    o = _out(out, a.shape)
    _sma_into(a, n, o)
    return o


def rsi(close, n: int = 14, out: np.ndarray | None = None) -> np.ndarray:
    """Wilder's RSI(n) in [0, 100], equal to ``talib.RSI`` (first value at index n)."""
    a = _as_f64(close, "close")
    n = _check_period(n)
    o = _out(out, a.shape)
    _rsi_into(a, n, o)
    return o


def atr(high, low, close, n: int = 14, out: np.ndarray | None = None) -> np.ndarray:
    """Wilder's average true range, equal to ``talib.ATR`` (first value at index n)."""
    c = _as_f64(close, "close")
    h = _as_f64(high, "high")
    lo = _as_f64(low, "low")
    if not (h.shape == lo.shape == c.shape):
        raise ValueError("high, low and close must have the same length")
    n = _check_period(n)
    o = _out(out, c.shape)
    _atr_into(h, lo, c, n, o)
    return o


# --- many series at once: rows are independent series, one thread per row -------------


@pjit
def _batch_into(close, rsi_n, sma_a, sma_b, rsi_out, sma_a_out, sma_b_out):
    for r in prange(close.shape[0]):
        _rsi_into(close[r], rsi_n, rsi_out[r])
        _sma_into(close[r], sma_a, sma_a_out[r])
        _sma_into(close[r], sma_b, sma_b_out[r])


def batch_rsi_sma(
    close2d, rsi_n: int = 14, sma_a: int = 50, sma_b: int = 100
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RSI(rsi_n), SMA(sma_a) and SMA(sma_b) for every row of a 2-D array of closes.

    Rows are independent series (pad shorter ones with leading NaN); rows run in parallel.
    Returns three arrays shaped like ``close2d``.
    """
    c = np.ascontiguousarray(close2d, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"close2d must be two-dimensional, got shape {c.shape}")
    outs = tuple(np.empty(c.shape, dtype=np.float64) for _ in range(3))
    _batch_into(c, _check_period(rsi_n), _check_period(sma_a), _check_period(sma_b), *outs)
    return outs
