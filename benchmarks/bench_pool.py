"""Would a process pool speed up a many-market scan from the cache? (issue #6 (a)), by hand:

    python benchmarks/bench_pool.py [N_SERIES] [CHUNK]     # default 1000 series, chunks of 64

Times, in the same run and alternating, ``api.scan_markets`` (serial: one process, the next
chunk loaded while this one is scanned) against a pool prototype: one ``spawn`` worker per
extra core (never ``fork``: polars' thread pool is live in this process and a forked child
can deadlock) that loads and scans whole chunks from the cache and returns the reports,
while this process scans chunks from the front of the list itself; a chunk not yet started
by a worker is taken back (``Future.cancel``), so nothing waits on a worker still starting
(a pooled run is timed until its last report; stopping the workers after is not timed).
Also prints what the pool costs: a worker's start-up (spawn, imports, numba cache loads) and
pickling the reports of one chunk both ways. The scan code is not changed by this script.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_watchlist import NOW_MS, make_cache  # noqa: E402


def _scan_chunk(job: tuple[list[str], str]) -> list:
    """Worker: load one chunk from the cache and scan it (reports or errors, in order)."""
    from btcscan import api
    from btcscan.data.market import load_markets
    from btcscan.errors import BtcscanError
    from btcscan.settings import ScanSettings
    from btcscan.timeframes import parse_timeframe

    symbols, directory = job
    loaded = load_markets(symbols, timeframe="1d", offline=True, cache_dir=Path(directory),
                          now_ms=NOW_MS)
    ok = [c for c in loaded if not isinstance(c, BtcscanError)]
    return api.scan_each(ok, parse_timeframe("1d"), None, ScanSettings(timeframe="1d"), 1)


def _warm() -> None:
    import btcscan.analysis.series  # noqa: F401
    import btcscan.api  # noqa: F401
    import btcscan.data.market  # noqa: F401
    import btcscan.patterns.engine  # noqa: F401
    import btcscan.stats.run  # noqa: F401


def _pooled(jobs: list, pool: ProcessPoolExecutor) -> tuple[list, int]:
    futures = [None] * len(jobs)
    for k in range(len(jobs) - 1, -1, -1):  # workers take chunks from the back
        futures[k] = pool.submit(_scan_chunk, jobs[k])
    out: list = [None] * len(jobs)
    mine = 0
    for k in range(len(jobs)):  # this process from the front, until a worker has it
        if not futures[k].cancel():
            break
        out[k] = _scan_chunk(jobs[k])
        mine += 1
    for k in range(len(jobs)):
        if out[k] is None:
            out[k] = futures[k].result()
    return [r for part in out for r in part], mine


def _timed_pool(jobs: list, workers: int) -> tuple[float, tuple[list, int]]:
    """Wall time from creating the pool to the last report; the workers are then stopped
    (not timed) so they cannot slow the next measurement."""
    t = time.perf_counter()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                               initializer=_warm)
    got = _pooled(jobs, pool)
    took = time.perf_counter() - t
    pool.shutdown(wait=True, cancel_futures=True)
    return took, got


def _worker_startup(directory: str, symbols: list[str]) -> float:
    t = time.perf_counter()
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=_warm) as pool:
        pool.submit(_scan_chunk, (symbols[:1], directory)).result()
    return time.perf_counter() - t


def main() -> None:
    from btcscan import api
    from btcscan.settings import ScanSettings

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    chunk = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    workers = max(1, (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 2) - 1)
    with tempfile.TemporaryDirectory(prefix="btcscan-bench-") as tmp:
        symbols = make_cache(Path(tmp), n)
        jobs = [(symbols[i:i + chunk], tmp) for i in range(0, n, chunk)]
        kw = {"offline": True, "cache_dir": Path(tmp), "now_ms": NOW_MS}
        settings = ScanSettings(timeframe="1d")
        serial = api.scan_markets(symbols, exchange="binance", timeframe="1d",
                                  settings=settings, load_kwargs=kw, chunk=chunk).series
        pooled, _ = _timed_pool(jobs, workers)[1]
        assert [r.source.symbol for r in pooled] == [r.source.symbol for r in serial]
        t_serial, t_pool, shares = [], [], []
        for _ in range(3):
            t = time.perf_counter()
            api.scan_markets(symbols, exchange="binance", timeframe="1d", settings=settings,
                             load_kwargs=kw, chunk=chunk)
            t_serial.append(time.perf_counter() - t)
            took, (_, mine) = _timed_pool(jobs, workers)
            t_pool.append(took)
            shares.append(mine)
        start = min(_worker_startup(tmp, symbols) for _ in range(2))
        # every chunk's reports through pickle, as the pool would send them (kept, so the
        # garbage collector sees the heap a pooled scan builds)
        t, size, back = time.perf_counter(), 0, []
        for i in range(0, len(serial), chunk):
            blob = pickle.dumps(serial[i:i + chunk], protocol=pickle.HIGHEST_PROTOCOL)
            size += len(blob)
            back.append(pickle.loads(blob))
        t_pickle = (time.perf_counter() - t) / len(serial)

    def rng(xs: list[float]) -> str:
        return f"{min(xs) * 1e3:.0f}-{max(xs) * 1e3:.0f} ms"

    print(f"{n:,} cached daily series, chunks of {chunk}, {workers} spawn worker(s) + this "
          "process; 3 alternating runs each")
    print(f"    serial api.scan_markets   {rng(t_serial)}")
    print(f"    pool prototype            {rng(t_pool)}   (this process scanned "
          f"{min(shares)}-{max(shares)} of {len(jobs)} chunks)")
    print(f"    a worker's start-up (spawn, imports, first scan of 1 series): "
          f"{start * 1e3:.0f} ms")
    print(f"    pickling reports both ways: {t_pickle * 1e6:.0f} us per series "
          f"({size / len(serial) / 1024:.1f} KB each, events not built)")


if __name__ == "__main__":
    main()
