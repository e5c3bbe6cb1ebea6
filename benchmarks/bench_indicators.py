"""RSI, SMA and ATR kernels vs TA-Lib, measured in the same process (run by hand).

    python benchmarks/bench_indicators.py

Prints the best-of-N wall time of each and the ratio btcscan / TA-Lib (< 1 is faster),
at 1e5 and 1e7 bars, with a fresh output and with a preallocated one (``out=``).
Numbers depend on the machine.
"""

from __future__ import annotations

import numpy as np
import talib
from _timing import best as _best

from btcscan.kernels.rolling import atr, rsi, sma


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

    print("goal: ratio <= 1.00 for every row")

if __name__ == "__main__":
    main()
