"""Pattern engine speed against a TA-Lib loop measured in the same run.

Run by hand: ``python benchmarks/bench_patterns.py`` (add ``--quick`` for a smoke run).

* A: 1,000 series x 1,000 bars (random walks). Pattern engine = ATR(14), RSI(14), pivots,
  zig-zag, wedge scan and divergence scan per series: the kernels
  :func:`btcscan.patterns.detect_patterns` runs (:func:`btcscan.patterns.engine.pattern_records`,
  without building its Python objects), a loop over the series. Reference = a Python loop
  calling ``talib.RSI(14)``, ``talib.SMA(50)``, ``talib.SMA(100)`` on each series.
* B: one series of 1e6 bars, same engine (its two kernel chains on two threads, as a scan
  runs them from ``THREAD_MIN_BARS`` on) against the same three TA-Lib calls (goal <= 3x),
  the time of each stage, and the engine on one thread vs two at a few sizes (where the
  second thread starts to pay).

Engine and TA-Lib are timed in turn (engine, TA-Lib, engine, ...) so both see the same
machine. Prints bars/s and the ratio engine time / TA-Lib time of the best runs (goal:
<= 2), and the ratio of the medians beside it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import numpy as np
import talib
from _timing import best, paired

from btcscan.kernels import trendlines as tl
from btcscan.kernels.divergence import divergences
from btcscan.kernels.pivots import zigzag
from btcscan.kernels.rolling import atr, rsi
from btcscan.patterns import PatternParams
from btcscan.patterns import engine as pe


def engine(h2d: np.ndarray, lo2d: np.ndarray, c2d: np.ndarray, p: PatternParams) -> np.ndarray:
    """Per series (rows): wedges found, divergences found; the kernels of one scan each."""
    counts = np.zeros((c2d.shape[0], 2), dtype=np.int64)
    for k, (h, lo, c) in enumerate(zip(h2d, lo2d, c2d, strict=True)):
        rec = pe.pattern_records(h, lo, c, p)
        counts[k] = (len(rec.wedges), len(rec.divergences))
    return counts


def threads(rng: np.random.Generator, p: PatternParams, rep: int) -> None:
    """The engine on one series, its chains on one thread vs on two, at a few sizes."""
    print(f"   one thread vs two (THREAD_MIN_BARS = {pe.THREAD_MIN_BARS:,}):")
    keep = pe.THREAD_MIN_BARS
    try:
        for n in (2_000, 10_000, 50_000, 200_000):
            h, lo, c = (x[0] for x in walks(rng, 1, n))

            def run(limit: int, h=h, lo=lo, c=c) -> None:
                pe.THREAD_MIN_BARS = limit
                pe.pattern_records(h, lo, c, p)

            one, two = paired(lambda n=n: run(n + 1), lambda: run(0), rep * 5)
            print(f"     {n:9,} bars  one {min(one) * 1e3:7.3f} ms  two {min(two) * 1e3:7.3f} ms"
                  f"  two / one {min(two) / min(one):5.2f}")
    finally:
        pe.THREAD_MIN_BARS = keep


def walks(rng: np.random.Generator, rows: int, n: int) -> tuple[np.ndarray, ...]:
    r = rng.normal(0, 0.02, (rows, n))
    c = 100 * np.exp(np.cumsum(r, axis=1))
    o = np.concatenate([np.full((rows, 1), 100.0), c[:, :-1]], axis=1)
    w = np.abs(rng.normal(0, 0.01, (2, rows, n))) * c
    return np.maximum(o, c) + w[0], np.minimum(o, c) - w[1], c


def talib_loop(c2d: np.ndarray) -> None:
    for row in c2d:
        talib.RSI(row, 14)
        talib.SMA(row, 50)
        talib.SMA(row, 100)


def stages(h: np.ndarray, lo: np.ndarray, c: np.ndarray, p: PatternParams, rep: int,
           t_ta: float) -> None:
    """Single-thread time of each stage (public wrappers, outputs allocated per call)."""
    a = atr(h, lo, c, p.atr_period)
    r = rsi(c, p.rsi_period)
    log = zigzag(h, lo, a, p.pivot_left, p.pivot_right, p.min_swing_atr)
    parts = {
        "ATR(14)": lambda: atr(h, lo, c, p.atr_period),
        "RSI(14)": lambda: rsi(c, p.rsi_period),
        "pivots + zig-zag": lambda: zigzag(h, lo, a, p.pivot_left, p.pivot_right,
                                           p.min_swing_atr),
        "wedge scan": lambda: tl.scan_wedges(c, a, log, p),
        "RSI pivots + divergences": lambda: divergences(r, h, lo, p),
    }
    print("   stages (one thread, each x TA-Lib's three calls):")
    for name, fn in parts.items():
        t = best(fn, rep)
        print(f"     {name:26s} {t * 1e3:8.1f} ms  {t / t_ta:5.2f}x")


def ratio(te: list[float], tt: list[float]) -> None:
    print(f"   ratio engine / TA-Lib = {min(te) / min(tt):.2f}  (best runs; medians: "
          f"{statistics.median(te) / statistics.median(tt):.2f})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes, one repeat")
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    p = PatternParams()
    rep = 1 if args.quick else 7
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, cores {os.cpu_count()}")

    h, lo, c = walks(rng, 8, 300)
    engine(h, lo, c, p)  # compile / load from cache outside the timings

    rows, n = (200, 1000) if args.quick else (1000, 1000)
    h, lo, c = walks(rng, rows, n)
    te, tt = paired(lambda: engine(h, lo, c, p), lambda: talib_loop(c), rep)
    t_eng, t_ta = min(te), min(tt)
    counts = engine(h, lo, c, p)
    bars = rows * n
    print(f"\nA. {rows:,} series x {n:,} bars ({bars:,} bars), best of {rep} runs in turn")
    print(f"   pattern engine   {t_eng * 1e3:8.2f} ms  {bars / t_eng / 1e6:8.1f} M bars/s")
    print(f"   TA-Lib loop      {t_ta * 1e3:8.2f} ms  {bars / t_ta / 1e6:8.1f} M bars/s"
          "  (RSI14 + SMA50 + SMA100)")
    ratio(te, tt)
    print(f"   found: {counts[:, 0].sum()} wedges, {counts[:, 1].sum()} divergences")

    n1 = 100_000 if args.quick else 1_000_000
    h1, lo1, c1 = walks(rng, 1, n1)
    rep1 = 1 if args.quick else 7
    te, tt = paired(lambda: engine(h1, lo1, c1, p), lambda: talib_loop(c1), rep1)
    t_eng1, t_ta1 = min(te), min(tt)
    print(f"\nB. one series of {n1:,} bars, best of {rep1} runs in turn")
    print(f"   pattern engine   {t_eng1 * 1e3:8.1f} ms  {n1 / t_eng1 / 1e6:8.1f} M bars/s")
    print(f"   TA-Lib           {t_ta1 * 1e3:8.1f} ms  {n1 / t_ta1 / 1e6:8.1f} M bars/s")
    ratio(te, tt)
    stages(h1[0], lo1[0], c1[0], p, rep1, t_ta1)
    threads(rng, p, rep1)

if __name__ == "__main__":
    main()
