"""Do threads speed up a many-market scan from the cache? Run by hand:

    python benchmarks/bench_pool.py [N_SERIES] [THREADS]   # default 1000 series, all cores

Times, in the same run and alternating (3 runs each), ``api.scan_markets`` over
``N_SERIES`` synthetic daily markets in a temporary cache with one scan thread against
``workers=THREADS`` (the numba kernels, polars and numpy release the GIL). A spawned process
pool (``--processes``, removed in issue 13) measured 1.59x and 2.53x the one-thread time in
two runs on the shared 2-core machine, while two threads measured 0.67x (docs/watchlists.md).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_watchlist import NOW_MS, make_cache  # noqa: E402


def main() -> None:
    from btcscan import api
    from btcscan.render.serial import to_jsonable
    from btcscan.settings import ScanSettings

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else max(2, cores or 2)
    settings = ScanSettings(timeframe="1d")
    with tempfile.TemporaryDirectory(prefix="btcscan-bench-") as tmp:
        symbols = make_cache(Path(tmp), n)
        kw = {"offline": True, "cache_dir": Path(tmp), "now_ms": NOW_MS}

        def run(workers: int):
            t = time.perf_counter()
            res = api.scan_markets(symbols, exchange="binance", timeframe="1d",
                                   settings=settings, load_kwargs=kw, workers=workers)
            return time.perf_counter() - t, res

        _, serial = run(1)  # warm: page cache, kernels
        _, threaded = run(threads)
        assert to_jsonable(threaded.series) == to_jsonable(serial.series)
        t_one, t_many = [], []
        for _ in range(3):
            t_one.append(run(1)[0])
            t_many.append(run(threads)[0])

    def rng(xs: list[float]) -> str:
        return f"{min(xs) * 1e3:.0f}-{max(xs) * 1e3:.0f} ms"

    print(f"{n:,} cached daily series, chunks of 64, {cores} core(s), load "
          f"{os.getloadavg()[0]:.1f}; 3 alternating runs each")
    print(f"    one scan thread     {rng(t_one)}")
    print(f"    workers={threads} (threads) {rng(t_many)}   "
          f"ratio {min(t_many) / min(t_one):.2f} (best against best)")


if __name__ == "__main__":
    main()
