"""RSI, SMA and ATR kernels vs TA-Lib, measured in the same process (run by hand).

    python benchmarks/bench_indicators.py

Prints the best-of-N wall time of each and the ratio btcscan / TA-Lib (< 1 is faster).
The 2-D case is 1,000 series x 1,000 bars of RSI(14) + SMA(50) + SMA(100): one
parallel numba call against a Python loop over TA-Lib. Numbers depend on the machine.
"""

from __future__ import annotations

import numpy as np
import talib
from _timing import best as _best

from btcscan.kernels.rolling import atr, batch_rsi_sma, rsi, sma


def best(fn, repeat: int) -> float:
    return _best(fn, repeat, warm=True)  # warm: JIT load, page cache


def row(name: str, ours: float, ref: float) -> None:
    print(
        f"{name:<44} btcscan {ours * 1e3:9.3f} ms   TA-Lib {ref * 1e3:9.3f} ms   "
        f"ratio {ours / ref:5.2f}x"
    )


def one_size(rng: np.random.Generator, size: int, repeat: int) -> None:
    c = np.cumsum(rng.normal(size=size)) + 10_000.0
    h = c + rng.random(size)
    lo = c - rng.random(size)
    bufs = [np.empty(size) for _ in range(3)]
    print(f"-- {size:,} bars")
    row("SMA(50)", best(lambda: sma(c, 50), repeat), best(lambda: talib.SMA(c, 50), repeat))
    row(
        "SMA(50), reused output buffer",
        best(lambda: sma(c, 50, out=bufs[0]), repeat),
        best(lambda: talib.SMA(c, 50), repeat),
    )
    row("RSI(14)", best(lambda: rsi(c, 14), repeat), best(lambda: talib.RSI(c, 14), repeat))
    row(
        "RSI(14), reused output buffer",
        best(lambda: rsi(c, 14, out=bufs[1]), repeat),
        best(lambda: talib.RSI(c, 14), repeat),
    )
    row(
        "ATR(14)",
        best(lambda: atr(h, lo, c, 14), repeat),
        best(lambda: talib.ATR(h, lo, c, 14), repeat),
    )
    row(
        "ATR(14), reused output buffer",
        best(lambda: atr(h, lo, c, 14, out=bufs[2]), repeat),
        best(lambda: talib.ATR(h, lo, c, 14), repeat),
    )


def main() -> None:
    rng = np.random.default_rng(42)
    for size, repeat in ((100_000, 50), (10_000_000, 5)):
        one_size(rng, size, repeat)

    c2 = np.cumsum(rng.normal(size=(1000, 1000)), axis=1) + 10_000.0

    def talib_loop():
        for i in range(c2.shape[0]):
            talib.RSI(c2[i], 14)
            talib.SMA(c2[i], 50)
            talib.SMA(c2[i], 100)

    outs = tuple(np.empty_like(c2) for _ in range(3))
    print("-- 1,000 series x 1,000 bars: RSI(14) + SMA(50) + SMA(100)")
    ref = best(talib_loop, 20)
    row("2-D numba batch (prange over series)", best(lambda: batch_rsi_sma(c2), 20), ref)
    row(
        "2-D numba batch, reused output buffers", best(lambda: batch_rsi_sma(c2, out=outs), 20), ref
    )
    print("goal: ratio <= 1.00 for every 1-D row; <= 0.25 for the 2-D batch")


if __name__ == "__main__":
    main()
