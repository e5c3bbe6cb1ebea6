"""Walk-forward statistics speed against a TA-Lib RSI loop measured in the same run.

Run by hand: ``python benchmarks/bench_stats.py`` (``--quick`` for a smoke run).

* A: the bundled daily BTC/USD history (about 5,400 candles). "Replay and scoring" =
  the pattern engine over the full history (every event at the candle it became knowable;
  its causality is proven by the prefix-replay tests), events -> rows (wedges,
  divergences incl. hidden, SMA 50/100 crosses), scoring with ``score_events`` and
  aggregation per kind: :func:`btcscan.stats.compute.series_stats` after
  :func:`btcscan.patterns.detect_patterns`. Also the whole ``stats_candles`` call from the
  loaded candles (adds resampling/validation) and the scoring step alone.
* B: 100 random-walk series of 3,000 candles, the same work per series in a loop.

Reference: ``talib.RSI(close, 14)`` over the same series, in a Python loop. Warm timings
(numba compiled and cached first), best of 15 repeats (A) and 3 (B). Prints seconds and ratios.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import talib
from _timing import best

from btcscan.data.resample import resample
from btcscan.data.sample import load_sample
from btcscan.patterns import PatternParams, detect_patterns
from btcscan.stats.compute import score_rows, series_stats
from btcscan.stats.rules import event_rows
from btcscan.stats.run import stats_candles
from btcscan.timeframes import parse_timeframe

PARAMS = PatternParams(include_hidden=True)


def walks(rng, rows: int, n: int):
    r = rng.normal(0, 0.02, (rows, n))
    c = 100 * np.exp(np.cumsum(r, axis=1))
    o = np.concatenate([np.full((rows, 1), 100.0), c[:, :-1]], axis=1)
    w = np.abs(rng.normal(0, 0.01, (2, rows, n))) * c
    t = np.arange(n, dtype=np.int64) * 86_400_000
    return [{"open_time": t, "open": o[i], "high": np.maximum(o[i], c[i]) + w[0, i],
             "low": np.minimum(o[i], c[i]) - w[1, i], "close": c[i]} for i in range(rows)]


def replay(a: dict) -> int:
    rep = detect_patterns(a, PARAMS)
    s = series_stats(a, rep, market="m", symbol="X", timeframe="1d", tf_label="daily",
                     horizon=90)
    return len(s.events)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rep = 2 if args.quick else 15
    nser = 10 if args.quick else 100

    candles = load_sample("BTC/USD")
    tf = parse_timeframe("1d")
    last = candles.timeframe.period_end_ms(int(candles.frame["open_time"].dt.epoch("ms")[-1]))
    a = resample(candles, tf, last).arrays()
    n = a["close"].size
    events = replay(a)  # compile / load the numba cache
    stats_candles([candles], timeframe="1d")
    talib.RSI(a["close"], 14)

    t_full = best(lambda: replay(a), rep)
    t_call = best(lambda: stats_candles([candles], timeframe="1d"), rep)
    report = detect_patterns(a, PARAMS)
    h, lo, c = a["high"], a["low"], a["close"]
    t_score = best(lambda: score_rows(event_rows(report, h, lo, c), h, lo, c, 90), rep)
    t_rsi = best(lambda: talib.RSI(c, 14), max(rep, 50))

    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(f"A  BTC/USD daily, {n:,} candles, {events} events scored (horizon 90)")
    print(f"   replay + scoring (engine + rows + score + aggregate): {t_full * 1e3:8.2f} ms")
    print(f"   stats_candles() from loaded candles:                  {t_call * 1e3:8.2f} ms")
    print(f"   rows + scoring alone:                                 {t_score * 1e3:8.3f} ms")
    print(f"   talib.RSI(14) on the same closes:                     {t_rsi * 1e3:8.3f} ms")
    print(f"   ratio replay+scoring / TA-Lib RSI: {t_full / t_rsi:,.0f}x; goal < 1 s warm: "
          f"{'met' if t_full < 1.0 else 'NOT met'}")

    rng = np.random.default_rng(7)
    series = walks(rng, nser, 3000)
    total = sum(replay(s) for s in series)  # warm

    def rsi_loop():
        for s in series:
            talib.RSI(s["close"], 14)

    def stats_loop():
        for s in series:
            replay(s)

    t_b = best(stats_loop, 3 if not args.quick else 1)
    t_b_rsi = best(rsi_loop, rep)
    print(f"B  {nser} random walks x 3,000 candles ({nser * 3000:,} candles, {total} events)")
    print(f"   replay + scoring loop: {t_b * 1e3:8.1f} ms ({nser * 3000 / t_b / 1e6:.2f} M "
          f"candles/s)")
    print(f"   TA-Lib RSI loop:       {t_b_rsi * 1e3:8.3f} ms")
    print(f"   ratio: {t_b / t_b_rsi:,.0f}x")


if __name__ == "__main__":
    main()
