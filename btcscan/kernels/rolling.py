"""Rolling indicators with TA-Lib parity: SMA, Wilder RSI and Wilder ATR.

Each public function validates its input once, allocates the output with numpy (outside
the kernel: page faults on fresh memory are what make in-kernel ``np.empty`` slow at 1e7
bars) and calls a private ``@jit`` kernel that does arithmetic only. Pass ``out=`` to
reuse a buffer.

Parity: the kernels follow TA-Lib's order of operations (running-sum SMA; RSI and ATR
seeded with the simple mean of the first ``n`` changes / true ranges, then
``avg = (avg * (n - 1) + x) / n``), so results equal ``talib.SMA/RSI/ATR`` on the same
input: SMA and RSI bit for bit; ATR within ~3e-15 relative, not bit for bit (its step may
be fused into one multiply-add). Like TA-Lib's Python wrapper, leading NaNs are skipped: the
warm-up starts at the first finite value. Values before the first full window are NaN.
"""

from __future__ import annotations

import numpy as np

from btcscan.kernels._jit import f64, jit


def _as_f64(x, name: str) -> np.ndarray:
    a = f64(x)
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


@jit(inline="always")
def _first_finite(x):
    for i in range(x.shape[0]):
        if not np.isnan(x[i]):
            return i
    return x.shape[0]


@jit(inline="always")
def _fill_nan(out, stop):
    for i in range(min(stop, out.shape[0])):
        out[i] = np.nan


@jit
def _sma_into(x, n, out):
    size = x.shape[0]
    start = _first_finite(x)
    _fill_nan(out, start + n - 1)
    if size - start < n:
        return
    total = 0.0
    for i in range(start, start + n - 1):
        total += x[i]
    # the window's new and leaving values as slices indexed from 0: indices numba can
    # prove non-negative, so each load skips negative-index wraparound
    head = x[start + n - 1:]
    tail = x[start:]
    dst = out[start + n - 1:]
    for k in range(head.shape[0]):
        total += head[k]
        value = total
        total -= tail[k]
        dst[k] = value / n


@jit(inline="always")
def _rsi_value(gain, loss):
    s = gain + loss
    if -1e-8 < s < 1e-8:  # TA-Lib's TA_IS_ZERO
        return 0.0
    return 100.0 * (gain / s)


@jit
def _rsi_into(x, n, out):
    """Wilder's RSI of ``x`` into ``out``: NaN until bar ``f`` (the first finite value +
    ``n``), seeded with the mean gain and loss of those ``n`` changes, then Wilder's
    smoothing. Branch-free gain/loss updates: adding 0.0 leaves a sum unchanged, so this is
    bit-identical to TA-Lib's if/else, without a mispredicted branch per bar."""
    size = x.shape[0]
    start = _first_finite(x)
    f = size  # too short for any value
    gain = 0.0
    loss = 0.0
    prev = 0.0
    if size - start > n:
        f = start + n
        prev = x[start]
        for i in range(start + 1, start + n + 1):
            d = x[i] - prev
            prev = x[i]
            loss += max(-d, 0.0)
            gain += max(d, 0.0)
        inv = 1.0 / n  # TA-Lib multiplies by 1/n; dividing differs in the last bits
        gain *= inv
        loss *= inv
    for i in range(f):  # f <= size
        out[i] = np.nan
    if f >= size:
        return
    out[f] = _rsi_value(gain, loss)
    inv = 1.0 / n
    nm1 = float(n - 1)
    src = x[f + 1:]  # indexed from 0, as in _sma_into
    dst = out[f + 1:]
    for k in range(src.shape[0]):
        d = src[k] - prev
        prev = src[k]
        loss = (loss * nm1 + max(-d, 0.0)) * inv
        gain = (gain * nm1 + max(d, 0.0)) * inv
        dst[k] = _rsi_value(gain, loss)


@jit(inline="always")
def _true_range(h, l, prev_close):
    hi = h if h > prev_close else prev_close
    lo = l if l < prev_close else prev_close
    return hi - lo


@jit(fastmath={"contract"})
def _atr_into(high, low, close, n, out):
    """Wilder's ATR into ``out``: NaN until the first full window (seeded with the mean of
    its true ranges; with ``n == 1`` every bar is its own true range), then Wilder's
    smoothing. The step is written as prev*((n-1)/n) + tr/n so consecutive bars do not wait
    on a division, with FMA contraction allowed: it stays within ~3e-15 (relative) of
    talib.ATR, which no operation order tried here reproduced bit for bit."""
    size = close.shape[0]
    # warm-up: the first bar with every price known, then the seed (NaN before it)
    start = 0
    while start < size and (  # x != x: x is NaN
        high[start] != high[start] or low[start] != low[start] or close[start] != close[start]
    ):
        start += 1
    prev = 0.0
    if size - start <= n:
        f = size
    else:  # running-sum SMA of the first n true ranges (bars start+1 .. start+n)
        f = start + n
        total = 0.0
        for i in range(start + 1, start + n + 1):
            total += _true_range(high[i], low[i], close[i - 1])
        prev = total / n
    for i in range(f):  # f <= size
        out[i] = np.nan
    if f >= size:
        return
    out[f] = prev
    # bar f+1+k as slices indexed from 0, as in _sma_into
    h = high[f + 1:]
    lo = low[f + 1:]
    prev_close = close[f:]
    dst = out[f + 1:]
    if n == 1:
        for k in range(h.shape[0]):
            dst[k] = _true_range(h[k], lo[k], prev_close[k])
        return
    inv = 1.0 / n
    keep = float(n - 1) * inv
    for k in range(h.shape[0]):
        prev = prev * keep + _true_range(h[k], lo[k], prev_close[k]) * inv
        dst[k] = prev


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
