"""Does a process pool speed up a many-market scan from the cache? (issue #6 (a)), by hand:

    python benchmarks/bench_pool.py [N_SERIES] [PROCESSES]   # default 1000 series, all cores

Times, in the same run and alternating (3 runs each), ``api.scan_markets`` over ``N_SERIES``
synthetic daily markets in a temporary cache: serial (one process, the next chunk read
while this one is scanned) against ``processes=PROCESSES`` (this process and PROCESSES-1
``spawn`` workers sharing the chunks, see ``api._scan_pooled``). A pooled run is timed
until its last report, as ``btcscan scan --processes N`` returns then (the workers exit on
their own; below ``api.POOL_MIN_CHUNKS`` chunks the scan is serial whatever ``processes``
says). Also prints what the pool costs: one worker's start-up (spawn, imports, numba
cache loads, one chunk) and pickling the reports both ways.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_watchlist import NOW_MS, make_cache  # noqa: E402


def main() -> None:
    from btcscan import api
    from btcscan.settings import ScanSettings

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    procs = int(sys.argv[2]) if len(sys.argv) > 2 else max(2, cores or 2)
    settings = ScanSettings(timeframe="1d")
    with tempfile.TemporaryDirectory(prefix="btcscan-bench-") as tmp:
        symbols = make_cache(Path(tmp), n)
        kw = {"offline": True, "cache_dir": Path(tmp), "now_ms": NOW_MS}

        def run(processes: int):
            t = time.perf_counter()
            res = api.scan_markets(symbols, exchange="binance", timeframe="1d",
                                   settings=settings, load_kwargs=kw, processes=processes)
            return time.perf_counter() - t, res

        _, serial = run(1)  # warm: page cache, kernels
        _, pooled = run(procs)
        assert [r.source.symbol for r in pooled.series] == [r.source.symbol
                                                             for r in serial.series]
        t_serial, t_pool = [], []
        for _ in range(3):
            t_serial.append(run(1)[0])
            t_pool.append(run(procs)[0])
            time.sleep(1.0)  # let the last run's workers exit before the next timing
        api.POOL_MIN_CHUNKS, min_chunks = 2, api.POOL_MIN_CHUNKS  # a pool for 2 chunks
        t = time.perf_counter()
        api.scan_markets(symbols[:128], exchange="binance", timeframe="1d", settings=settings,
                         load_kwargs=kw, processes=2, chunk=64)
        start = time.perf_counter() - t  # this process does one chunk, a worker the other
        api.POOL_MIN_CHUNKS = min_chunks
        t, size = time.perf_counter(), 0
        reports = serial.series
        for i in range(0, len(reports), 64):
            blob = pickle.dumps(reports[i:i + 64], protocol=pickle.HIGHEST_PROTOCOL)
            size += len(blob)
            pickle.loads(blob)
        t_pickle = (time.perf_counter() - t) / len(reports)

    def rng(xs: list[float]) -> str:
        return f"{min(xs) * 1e3:.0f}-{max(xs) * 1e3:.0f} ms"

    print(f"{n:,} cached daily series, chunks of 64, {cores} core(s); 3 alternating runs each")
    print(f"    serial (processes=1)        {rng(t_serial)}")
    print(f"    processes={procs}                 {rng(t_pool)}   "
          f"ratio {min(t_pool) / min(t_serial):.2f} (best against best)")
    print(f"    128 series in 2 chunks, one per process (a pool forced below "
          f"POOL_MIN_CHUNKS={api.POOL_MIN_CHUNKS}): {start * 1e3:.0f} ms, the worker's start-up")
    print(f"    pickling reports both ways: {t_pickle * 1e6:.0f} us per series "
          f"({size / len(reports) / 1024:.1f} KB each)")


if __name__ == "__main__":
    main()
