"""Indicators at any price scale: the boundary where closes are handed to the RSI kernel.

Wilder's RSI is a ratio of average gains to average losses, so it does not depend on the
unit of the price; but the kernel follows TA-Lib, which calls an average move below 1e-8
"zero" and returns RSI 0.0. For a pair priced in satoshis (1e-8..1e-6) every move is below
that, so RSI was 0.0 throughout and no divergence could be found. Closes below
:data:`SCALE_BELOW` are therefore multiplied by a power of ten (exact for the ratio, and
prices themselves are never changed: only the RSI input is scaled).
"""

from __future__ import annotations

import math

import numpy as np

from btcscan.kernels.rolling import rsi as _rsi

#: the smallest close below which the RSI input is scaled (a 0.001 price would need average
#: moves under 1e-5 of it to reach TA-Lib's threshold: a flat market, which RSI 0 describes;
#: the bundled markets, DOGE included, stay above it, so their RSI is TA-Lib's to the bit)
SCALE_BELOW = 1e-3


def rsi_scale(close: np.ndarray) -> float:
    """The power of ten the closes are multiplied by before RSI: 1.0 unless the smallest
    positive close is below :data:`SCALE_BELOW`, else the one that brings it to [1, 10)."""
    c = np.asarray(close, dtype=np.float64)
    if c.size and c.min() >= SCALE_BELOW:  # one pass (NaN fails the test: the full one below)
        return 1.0
    pos = c[np.isfinite(c) & (c > 0)]
    if pos.size == 0:
        return 1.0
    low = float(pos.min())
    if low >= SCALE_BELOW:
        return 1.0
    return 10.0 ** math.ceil(-math.log10(low))


def rsi(close: np.ndarray, n: int = 14, *, scale: float | None = None) -> np.ndarray:
    """Wilder's RSI(n) of ``close`` whatever its price unit (see :func:`rsi_scale`); equal
    to ``talib.RSI`` for closes of 0.001 and more. ``scale``: ``rsi_scale(close)``, when
    the caller has it already."""
    if scale is None:
        scale = rsi_scale(close)
    if scale == 1.0:
        return _rsi(close, n)
    return _rsi(np.asarray(close, dtype=np.float64) * scale, n)


def scale_note(scale: float) -> str:
    """How the RSI input was scaled by ``scale`` (:func:`rsi_scale`), for a method text (""
    when it was not)."""
    return "" if scale == 1.0 else (f"; closes x {scale:.0e} first (TA-Lib treats average "
                                    "moves under 1e-8 as none)")
