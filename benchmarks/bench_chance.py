"""Noise control of the tests against chance, and their cost, on pure random walks.

Run by hand: ``python benchmarks/bench_chance.py`` (``--walks N --bars N`` to change the
size, ``--quick`` for a smoke run).

Each walk is a geometric random walk (daily vol 2.5 %, intrabar wicks): no signal can have
an edge there. On each, the whole ``btcscan stats`` procedure runs (pattern engine, every
kind's events scored, each kind's three measures against random entries by circular shifts,
Holm over the walk's table). Printed:

* the share of walks where the table flags any test as significant after Holm: the
  family-wise error rate, which must be at most ALPHA (0.05);
* the same share without the correction (any raw p < ALPHA): what an uncorrected table
  would claim;
* the share of single tests with raw p < ALPHA: the calibration of the p-values (about
  ALPHA or below when they are valid);
* cost: the walk-forward statistics with the tests against chance vs the same without
  them (``chance_tests`` replaced by a no-op), in turn on each walk in the same process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from btcscan.patterns import PatternParams, detect_patterns
from btcscan.stats import chance, compute
from btcscan.stats.compute import series_parts

PARAMS = PatternParams(include_hidden=True)


def walk(seed: int, n: int, vol: float = 0.025) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, vol, n)))
    o = np.concatenate(([100.0], c[:-1]))
    wick = np.abs(rng.normal(0, vol / 2, (2, n))) * c
    return {"open": o, "high": np.maximum(o, c) + wick[0], "low": np.minimum(o, c) - wick[1],
            "close": c, "volume": np.ones(n),
            "open_time": 1_600_000_000_000 + 86_400_000 * np.arange(n, dtype=np.int64)}


def table(a: dict, horizon: int):
    report = detect_patterns(a, PARAMS)
    s, _ = series_parts(a, report, market="walk", symbol="WALK", timeframe="1d",
                        tf_label="daily", horizon=horizon)
    return chance.correct(s.kinds)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--walks", type=int, default=200)
    ap.add_argument("--bars", type=int, default=2000)
    ap.add_argument("--horizon", type=int, default=90)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    walks = 10 if args.quick else args.walks
    table(walk(10_000, args.bars), args.horizon)  # load the numba cache
    flagged = raw_any = raw_tests = tests = events = 0
    t_with = t_without = 0.0
    keep = compute.chance_tests, compute.kind_sample
    for seed in range(walks):
        a = walk(seed, args.bars)
        t = time.perf_counter()
        kinds, fam = table(a, args.horizon)
        t_with += time.perf_counter() - t
        ps = [x.p_value for k in kinds for x in k.chance if x.p_value is not None]
        flagged += fam.significant > 0
        raw_any += any(p < chance.ALPHA for p in ps)
        raw_tests += sum(p < chance.ALPHA for p in ps)
        tests += len(ps)
        events += sum(k.events for k in kinds)
        # the reference, in turn on the same walk: the tests against chance switched off
        compute.chance_tests = lambda samples, u=None, measures=None: ()
        compute.kind_sample = lambda *a, **k: None
        try:
            t = time.perf_counter()
            table(a, args.horizon)
            t_without += time.perf_counter() - t
        finally:
            compute.chance_tests, compute.kind_sample = keep
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(f"{walks} random walks x {args.bars:,} daily bars (vol 2.5%), horizon {args.horizon}, "
          f"{chance.SHIFTS:,} shifts (seed {chance.SEED}); {events / walks:.0f} events and "
          f"{tests / walks:.1f} tests per walk")
    print(f"  walks with a test significant after {chance.CORRECTION}: {flagged}/{walks} = "
          f"{flagged / walks:.1%} (stated share: at most {chance.ALPHA:.0%}): "
          f"{'met' if flagged / walks <= chance.ALPHA else 'NOT MET'}")
    print(f"  walks with a raw p < {chance.ALPHA:g} (no correction): {raw_any}/{walks} = "
          f"{raw_any / walks:.1%}")
    print(f"  single tests with raw p < {chance.ALPHA:g}: {raw_tests}/{tests} = "
          f"{raw_tests / max(tests, 1):.1%} (calibrated p-values: about {chance.ALPHA:.0%} "
          "or below)")
    print(f"  per walk: {t_with / walks * 1000:.1f} ms with the tests, "
          f"{t_without / walks * 1000:.1f} ms without; ratio {t_with / t_without:.1f}x")


if __name__ == "__main__":
    main()
