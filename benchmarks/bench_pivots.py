"""Raw pivot kernel: the blocked branch-free kernel against the previous skip-ahead kernel
and TA-Lib's SMA(50), on the same data in the same run (run by hand).

    python benchmarks/bench_pivots.py            # 1e7 bars, best of 9
    python benchmarks/bench_pivots.py --quick    # 1e6 bars, best of 3

Data: one random walk of ``bench_patterns.walks()`` (its high and low rows) and its
RSI(14) (NaN warm-up), i.e. the four calls the pattern engine makes per series. For each
case it prints, per call, the best thread CPU time (``time.thread_time``: less disturbed
by other processes on a shared 2-core machine) and the best wall time, old and new, the
speed-up, and the new kernel's time as a multiple of ``talib.SMA(x, 50)`` on the same
array. Old and new are run alternately within each repeat, and their outputs are checked
to be identical first. The old kernel lives only here, as the reference.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import talib
from bench_patterns import walks

from btcscan.kernels._jit import jit
from btcscan.kernels.pivots import _raw_pivot_list, pivot_scratch, side_capacity
from btcscan.kernels.rolling import rsi


@jit
def old_raw_pivot_list(x, left, right, is_high, out):
    """The kernel before the blocked rewrite: right neighbours first; when bar ``i + d``
    beats bar ``i``, jump to it (every bar in between is beaten by it too)."""
    n = x.shape[0]
    k = 0
    i = left
    while i < n - right:
        v = x[i]
        ok = True
        for d in range(1, right + 1):
            if not (x[i + d] <= v if is_high else x[i + d] >= v):
                ok = False
                i += d
                break
        if not ok:
            continue
        for d in range(1, left + 1):
            if not (x[i - d] < v if is_high else x[i - d] > v):
                ok = False
                break
        if ok and not np.isnan(v):
            out[k] = i
            k += 1
        i += 1
    return k


def once(fn, *args) -> tuple[float, float]:
    """(thread CPU seconds, wall seconds) of one ``fn(*args)``."""
    c0, w0 = time.thread_time(), time.perf_counter()
    fn(*args)
    w = time.perf_counter() - w0
    return time.thread_time() - c0, w


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1e6 bars, 3 repeats")
    args = ap.parse_args()
    n = 1_000_000 if args.quick else 10_000_000
    repeat = 3 if args.quick else 9
    h, lo, c = (a[0] for a in walks(np.random.default_rng(2026), 1, n))
    r = rsi(c, 14)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {n:,} bars, "
          f"best of {repeat}; per call, ms: thread CPU / wall")
    cases = [("high, pivot highs", h, True), ("low, pivot lows", lo, False),
             ("RSI(14), pivot highs", r, True), ("RSI(14), pivot lows", r, False)]
    for left, right in [(5, 5), (2, 7), (8, 8)]:
        print(f"-- left={left} right={right}")
        scr = pivot_scratch(left, right)
        for name, x, high in cases:
            a = np.empty(side_capacity(n, left, right), dtype=np.int64)
            b = np.empty_like(a)
            ka = old_raw_pivot_list(x, left, right, high, a)
            kb = _raw_pivot_list(x, left, right, high, b, *scr)
            if ka != kb or not np.array_equal(a[:ka], b[:kb]):
                raise SystemExit(f"MISMATCH {name} {left}/{right}: {ka} vs {kb} pivots")
            old, new, sma = [], [], []
            for _ in range(repeat):  # alternate, so all three see the same machine load
                old.append(once(old_raw_pivot_list, x, left, right, high, a))
                new.append(once(_raw_pivot_list, x, left, right, high, b, *scr))
                sma.append(once(talib.SMA, x, 50))
            (oc, ow), (nc, nw), (sc, sw) = (np.min(t, axis=0) for t in (old, new, sma))
            print(f"   {name:22s} old {oc * 1e3:6.1f} / {ow * 1e3:6.1f}   "
                  f"new {nc * 1e3:6.1f} / {nw * 1e3:6.1f}   speed-up {oc / nc:4.1f}x cpu "
                  f"{ow / nw:4.1f}x wall   new / SMA(50) {nc / sc:4.2f} cpu {nw / sw:4.2f} wall"
                  f"   ({kb:,} pivots)")
        print(f"   TA-Lib SMA(50) on the last array: {sc * 1e3:.1f} / {sw * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
