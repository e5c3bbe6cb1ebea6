"""Many-market scans, start-up and memory (issue #6), run by hand:

    python benchmarks/bench_watchlist.py            # all three parts
    python benchmarks/bench_watchlist.py a          # one part: a, b or c

(a) 1,000 series x 1,000 daily candles from the candle cache through the full scan
    (indicators, levels, wedges, divergences, long-run context), the time split into load
    (cache -> Candles), compute (scan) and render (sorted summary table + NDJSON), and the
    compute compared with a TA-Lib loop of RSI(14) + SMA(50) + SMA(100) on the same closes
    in the same run. Also the chunked end-to-end ``api.scan_markets`` time (the next chunk
    read from the cache while one is scanned). Threads against one thread:
    ``benchmarks/bench_pool.py``.
(b) warm ``btcscan scan --sample`` wall time against ``python -c "import polars, numba,
    click, rich"`` in the same run (best of 5 each), ``btcscan --version``, and the cold
    first run (an empty numba cache directory: every kernel compiles).
(c) peak RSS of ``btcscan scan --offline --symbols-file ...`` for 10, 100 and 1,000 series
    (each a fresh process; ru_maxrss of the child).

Goals: (a) the whole 1,000-series scan within 2 s on 2 cores; (b) warm sample scan within
1.5x of the import baseline; (c) peak RSS grows by less than 100 MB from 10 to 1,000.
The synthetic markets are random walks written to a temporary cache; nothing else is touched.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DAY_MS = 86_400_000
N_BARS = 1000
NOW_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC: every synthetic candle is closed by then


def make_cache(directory: Path, n: int, bars: int = N_BARS, seed: int = 7) -> list[str]:
    """``n`` synthetic daily markets ``S0000/USDT``... in a btcscan cache directory."""
    import polars as pl

    from btcscan.data import cache
    from btcscan.data.schema import SCHEMA

    rng = np.random.default_rng(seed)
    t0 = NOW_MS - bars * DAY_MS
    times = (t0 + np.arange(bars, dtype=np.int64) * DAY_MS)
    symbols = []
    for i in range(n):
        sym = f"S{i:04d}/USDT"
        ret = rng.normal(0.0005, 0.03, bars)
        close = 100.0 * np.exp(np.cumsum(ret))
        open_ = np.concatenate(([close[0]], close[:-1]))
        hi = np.maximum(open_, close) * (1 + rng.random(bars) * 0.02)
        lo = np.minimum(open_, close) * (1 - rng.random(bars) * 0.02)
        frame = pl.DataFrame({"open_time": times, "open": open_, "high": hi, "low": lo,
                              "close": close, "volume": rng.random(bars) * 1e6},
                             ).with_columns(pl.from_epoch("open_time", "ms")
                                            .dt.replace_time_zone("UTC")).cast(SCHEMA)
        cache.store(directory, "binance", sym, "1d", frame)
        symbols.append(sym)
    return symbols


def part_a(directory: Path, symbols: list[str]) -> None:
    import talib
    from rich.console import Console

    from btcscan import api
    from btcscan.data.market import load_markets
    from btcscan.render.serial import write_ndjson
    from btcscan.render.summary import rank, render_summary
    from btcscan.settings import ScanSettings
    from btcscan.timeframes import parse_timeframe

    tf = parse_timeframe("1d")
    settings = ScanSettings(timeframe="1d")
    # warm: JIT load, page cache
    warm = load_markets(symbols[:16], timeframe="1d", offline=True, cache_dir=directory,
                        now_ms=NOW_MS)
    api.scan_each(warm, tf, None, settings)

    best = {"load": 1e9, "compute": 1e9, "render": 1e9, "ndjson": 1e9, "talib": 1e9,
            "e2e": 1e9}
    for _ in range(3):
        t = time.perf_counter()
        series = load_markets(symbols, timeframe="1d", offline=True, cache_dir=directory,
                              now_ms=NOW_MS)
        t_load = time.perf_counter() - t
        t = time.perf_counter()
        reports = api.scan_each(series, tf, None, settings)
        t_comp = time.perf_counter() - t
        from btcscan.models import ScanResult

        result = ScanResult(series=tuple(reports))
        t = time.perf_counter()
        buf = io.StringIO()
        render_summary(rank(result), (), Console(file=buf, width=160, color_system=None))
        t_render = time.perf_counter() - t
        t = time.perf_counter()
        write_ndjson(result, io.StringIO())
        t_ndjson = time.perf_counter() - t
        closes = [c.frame["close"].to_numpy() for c in series]
        t = time.perf_counter()
        for c in closes:
            talib.RSI(c, 14)
            talib.SMA(c, 50)
            talib.SMA(c, 100)
        t_talib = time.perf_counter() - t
        del series, reports, result
        t = time.perf_counter()
        res = api.scan_markets(symbols, exchange="binance", timeframe="1d", settings=settings,
                               load_kwargs={"offline": True, "cache_dir": directory,
                                            "now_ms": NOW_MS})
        t_e2e = time.perf_counter() - t
        assert len(res.series) == len(symbols) and not res.errors, res.errors[:1]
        for k, v in (("load", t_load), ("compute", t_comp), ("render", t_render),
                     ("ndjson", t_ndjson), ("talib", t_talib), ("e2e", t_e2e)):
            best[k] = min(best[k], v)
    n = len(symbols)
    whole = best["e2e"] + best["render"]
    print(f"(a) {n:,} series x {N_BARS:,} daily candles, load {os.getloadavg()[0]:.1f}, "
          "best of 3")
    print(f"    whole scan {whole * 1e3:6.0f} ms   goal <= 2000 ms (api.scan_markets, chunks of "
          "64, the next read while one is scanned, + the table)")
    print("    the phases run one after the other:")
    print(f"    load    {best['load'] * 1e3:8.0f} ms   (cache parquet -> Candles)")
    print(f"    compute {best['compute'] * 1e3:8.0f} ms   ({best['compute'] / n * 1e3:.2f} ms "
          "per series: indicators, levels, wedges, divergences, context)")
    print(f"    render  {best['render'] * 1e3:8.0f} ms   (the sorted summary table, the default "
          "output)")
    print(f"    (NDJSON instead of the table: {best['ndjson'] * 1e3:.0f} ms; every series carries "
          "its whole event history, whose texts are built on first read, so here)")
    print(f"    TA-Lib loop RSI14+SMA50+SMA100 on the same closes: {best['talib'] * 1e3:.1f} ms;"
          f" full compute / TA-Lib loop = {best['compute'] / best['talib']:.0f}x")


def _best_wall(argv: list[str], n: int = 5, env: dict | None = None) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t)
    return min(times)


def part_b() -> None:
    exe = shutil.which("btcscan") or sys.exit("btcscan is not on PATH (pip install -e .)")
    base = [sys.executable, "-c", "import polars, numba, click, rich"]
    subprocess.run([exe, "scan", "--sample"], check=True, stdout=subprocess.DEVNULL)  # warm
    imp = _best_wall(base)
    warm = _best_wall([exe, "scan", "--sample"])
    version = _best_wall([exe, "--version"])
    with tempfile.TemporaryDirectory() as empty:
        env = {**os.environ, "NUMBA_CACHE_DIR": empty}
        t = time.perf_counter()
        subprocess.run([exe, "scan", "--sample"], check=True, stdout=subprocess.DEVNULL, env=env)
        cold = time.perf_counter() - t
        second = _best_wall([exe, "scan", "--sample"], 1, env)
    print("(b) wall time, best of 5")
    print(f"    python -c 'import polars, numba, click, rich'  {imp:6.2f} s")
    print(f"    btcscan scan --sample (warm)                    {warm:6.2f} s   "
          f"= {warm / imp:.2f}x the import baseline (goal <= 1.5x)")
    print(f"    btcscan --version                               {version:6.2f} s")
    print(f"    btcscan scan --sample, cold (empty numba cache) {cold:6.2f} s; "
          f"the next run {second:.2f} s")


def part_c(directory: Path, symbols: list[str]) -> None:
    exe = shutil.which("btcscan") or sys.exit("btcscan is not on PATH (pip install -e .)")
    print("(c) peak RSS of `btcscan scan --offline --symbols-file F --format ndjson`")
    base = None
    for n in (10, 100, 1000):
        f = directory / f"w{n}.txt"
        f.write_text("\n".join(f"binance:{s}@1d" for s in symbols[:n]) + "\n")
        argv = [exe, "scan", "--offline", "--cache-dir", str(directory), "--symbols-file",
                str(f), "--format", "ndjson"]
        code = (f"import resource, subprocess, sys; r = subprocess.run({argv!r}, "
                "stdout=subprocess.DEVNULL); "
                "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        rc, kb = map(int, out.stdout.split())
        mb = kb / 1024
        base = mb if base is None else base
        print(f"    {n:5d} series: {mb:7.1f} MB (exit {rc})"
              + (f"   +{mb - base:.1f} MB over 10 series (goal < 100)" if n > 10 else ""))


def main() -> None:
    parts = sys.argv[1:] or ["a", "b", "c"]
    with tempfile.TemporaryDirectory(prefix="btcscan-bench-") as tmp:
        directory = Path(tmp)
        symbols = make_cache(directory, 1000) if {"a", "c"} & set(parts) else []
        if "a" in parts:
            part_a(directory, symbols)
        if "b" in parts:
            part_b()
        if "c" in parts:
            part_c(directory, symbols)


if __name__ == "__main__":
    main()
