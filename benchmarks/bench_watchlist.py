"""Many-market scans, start-up and memory (issue #6), run by hand:

    python benchmarks/bench_watchlist.py            # every part
    python benchmarks/bench_watchlist.py a          # one part: a, f, b or c

(a) 1,000 series x 1,000 daily candles from the candle cache: the whole scan as
    ``btcscan scan`` runs it for the summary table (``api.scan_markets(detail=False)``:
    chunks, the next read from the cache while one is scanned, + the signals, the sorted
    table and the alerts: :func:`summary_view`), then
    its phases one after the other: load (cache -> Candles), compute (the lean reports the
    table reads, and the full ones: + stats lines and long-run context), render (the table;
    checked equal for lean and full reports) and NDJSON; the lean compute compared with a
    TA-Lib loop of RSI(14) + SMA(50) + SMA(100) on the same closes in the same round.
    Threads against one thread: ``benchmarks/bench_pool.py``.
(f) ``--from-file`` of 1 parquet file against 1,000 (the CLI's path: ``api.scan_sources``,
    chunked like the cache's markets), alternated.
(b) warm ``btcscan scan --sample`` wall time against ``python -c "import polars, numba,
    click, rich"`` in the same run (best of 5 each), ``btcscan --version``, and the cold
    first run (an empty numba cache directory: every kernel compiles).
(c) peak RSS of ``btcscan scan --offline --symbols-file ...`` for 10, 100 and 1,000 series
    (each a fresh process; ru_maxrss of the child).

Goals (issue 13): (a) the whole 1,000-series scan within 1.0 s on 2 cores, its compute
within 20x the TA-Lib loop; (b) warm sample scan within 1.2x of the import baseline;
(c) peak RSS grows by less than 100 MB from 10 to 1,000.
The synthetic markets are random walks written to a temporary cache; nothing else is touched.
"""

from __future__ import annotations

import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _timing import paired

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


def _stats(times: list[float]) -> str:
    """best / median in milliseconds."""
    return f"{min(times) * 1e3:6.0f} / {statistics.median(times) * 1e3:6.0f} ms"


def summary_view(result, out: io.StringIO) -> str:
    """What ``btcscan scan`` prints for several markets: the signals of every report, the
    summary table ranked by them, then the alerts (as ``cli._emit``, at 160 columns)."""
    from rich.console import Console

    from btcscan.alerts.signals import alerts_of
    from btcscan.render.summary import rank, render_summary
    from btcscan.render.table import render_alerts

    signals = tuple(a.signal for r in result.series for a in alerts_of(r))
    console = Console(file=out, width=160, color_system=None, highlight=False)
    render_summary(rank(result, signals, signals), signals, console)
    render_alerts(signals, (), False, console)
    return out.getvalue()


def part_a(directory: Path, symbols: list[str], rounds: int = 5) -> None:
    import talib

    from btcscan import api
    from btcscan.data.market import load_markets
    from btcscan.models import ScanResult
    from btcscan.render.serial import write_ndjson
    from btcscan.settings import ScanSettings
    from btcscan.timeframes import parse_timeframe

    tf = parse_timeframe("1d")
    settings = ScanSettings(timeframe="1d")
    load_kwargs = {"offline": True, "cache_dir": directory, "now_ms": NOW_MS}
    warm = load_markets(symbols[:16], timeframe="1d", cache_dir=directory, offline=True,
                        now_ms=NOW_MS)  # JIT load, page cache
    api.scan_each(warm, tf, None, settings)

    def table(result: ScanResult) -> str:
        return summary_view(result, io.StringIO())

    t: dict[str, list[float]] = {k: [] for k in ("e2e", "load", "lean", "full", "render",
                                                 "ndjson", "talib")}
    for _ in range(rounds):  # the phases in turn, each round, so all see the same machine
        t0 = time.perf_counter()
        res = api.scan_markets(symbols, exchange="binance", timeframe="1d", settings=settings,
                               load_kwargs=load_kwargs, detail=False)  # as the CLI's table
        table(res)
        t["e2e"].append(time.perf_counter() - t0)
        assert len(res.series) == len(symbols) and not res.errors, res.errors[:1]
        del res
        t0 = time.perf_counter()
        series = load_markets(symbols, timeframe="1d", cache_dir=directory, offline=True,
                              now_ms=NOW_MS)
        t["load"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        lean = api.scan_each(series, tf, None, settings, detail=False)
        t["lean"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        full = api.scan_each(series, tf, None, settings)
        t["full"].append(time.perf_counter() - t0)
        result = ScanResult(series=tuple(full))
        t0 = time.perf_counter()
        text = table(ScanResult(series=tuple(lean)))
        t["render"].append(time.perf_counter() - t0)
        assert text == table(result)  # the lean reports print the full reports' table
        t0 = time.perf_counter()
        write_ndjson(result, io.StringIO())
        t["ndjson"].append(time.perf_counter() - t0)
        closes = [c.frame["close"].to_numpy() for c in series]
        t0 = time.perf_counter()
        for c in closes:
            talib.RSI(c, 14)
            talib.SMA(c, 50)
            talib.SMA(c, 100)
        t["talib"].append(time.perf_counter() - t0)
        del series, lean, full, result
    n = len(symbols)
    ratio = [a / b for a, b in zip(t["lean"], t["talib"], strict=True)]
    print(f"(a) {n:,} series x {N_BARS:,} daily candles, load {os.getloadavg()[0]:.1f}; "
          f"best / median of {rounds} rounds, the phases in turn in each round")
    print(f"    whole scan          {_stats(t['e2e'])}   goal <= 1000 ms on 2 cores "
          "(what `btcscan scan` runs for the summary table: api.scan_markets(detail=False), "
          "chunks of 64, the next read while one is scanned, + signals, table and alerts)")
    print("    the phases one after the other:")
    print(f"    load                {_stats(t['load'])}   (cache parquet -> Candles)")
    print(f"    compute, lean       {_stats(t['lean'])}   ({min(t['lean']) / n * 1e3:.2f} ms "
          "per series: api.scan_each(detail=False), what the summary table, signals and "
          "--fail-on read)")
    print(f"    compute, full       {_stats(t['full'])}   ({min(t['full']) / n * 1e3:.2f} ms "
          "per series: + walk-forward stats lines and long-run context, for --detail, "
          "JSON, NDJSON, CSV, charts)")
    print(f"    render              {_stats(t['render'])}   (signals, the sorted summary "
          "table and the alerts)")
    print(f"    NDJSON              {_stats(t['ndjson'])}   (of the full reports: every "
          "series' event history, its texts built on first read, so here)")
    print(f"    TA-Lib RSI14+SMA50+SMA100 loop on the same closes {_stats(t['talib'])}; "
          f"lean compute / TA-Lib = {min(ratio):.0f}x best, {statistics.median(ratio):.0f}x "
          "median (goal <= 20x)")


def make_files(directory: Path, n: int, bars: int = N_BARS, seed: int = 7) -> list[str]:
    """``n`` synthetic daily markets as parquet files ``F0000.parquet``... (the cache's
    random walks, written as a user's files)."""
    import polars as pl

    from btcscan.data import cache

    cache_dir = directory / "cache"
    symbols = make_cache(cache_dir, n, bars, seed)
    paths = []
    for i, sym in enumerate(symbols):
        p = directory / f"F{i:04d}.parquet"
        pl.read_parquet(cache.cache_path(cache_dir, "binance", sym, "1d")).write_parquet(p)
        paths.append(str(p))
    return paths


def part_f(directory: Path, rounds: int = 3) -> None:
    """``--from-file`` of 1 file against 1,000 files, the path the CLI runs
    (api.source_refs + api.scan_sources, lean for several files) + the table."""
    from btcscan import api
    from btcscan.settings import ScanSettings

    paths = make_files(directory, 1000)
    settings = ScanSettings(timeframe="1d")

    def run(files: list[str]) -> None:
        refs = api.source_refs(files=files)
        res = api.scan_sources(refs, timeframe="1d", settings=settings,
                               detail=len(refs) == 1)
        if len(refs) > 1:
            summary_view(res, io.StringIO())
        assert len(res.series) == len(files)

    one, many = paired(lambda: run(paths[:1]), lambda: run(paths), rounds)
    print(f"(f) --from-file, 1,000-candle daily parquet files, load {os.getloadavg()[0]:.1f}; "
          f"best / median of {rounds}, alternated")
    print(f"    1 file        {_stats(one)}   (its full report)")
    print(f"    1,000 files   {_stats(many)}   (chunks of 64, the next read while one is "
          "scanned, lean reports, + signals, table, alerts): "
          f"{(min(many) - min(one)):.2f} s more for 999 more files")


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
          f"= {warm / imp:.2f}x the import baseline (goal <= 1.2x)")
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
    parts = sys.argv[1:] or ["a", "f", "b", "c"]
    with tempfile.TemporaryDirectory(prefix="btcscan-bench-") as tmp:
        directory = Path(tmp)
        symbols = make_cache(directory, 1000) if {"a", "c"} & set(parts) else []
        if "a" in parts:
            part_a(directory, symbols)
        if "f" in parts:
            part_f(directory / "files")
        if "b" in parts:
            part_b()
        if "c" in parts:
            part_c(directory, symbols)


if __name__ == "__main__":
    main()
