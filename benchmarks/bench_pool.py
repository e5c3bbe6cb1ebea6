"""Would more threads speed up a many-market scan? Run by hand:

    python benchmarks/bench_pool.py [N_SERIES] [THREADS]   # default 1000 series, all cores

Loads ``N_SERIES`` synthetic daily markets from a temporary cache once, then times, in the
same run and alternating (5 runs each), ``api.scan_each`` (one series after the other, what
``btcscan scan`` does) against the same series scanned by a pool of ``THREADS`` threads
calling ``api.scan_one`` (the numba kernels, polars and numpy release the GIL, the rest of
a series' scan is Python). This is how issue 13 chose one way to use the cores: the
``--workers`` threads and the ``--processes`` pool were removed (docs/watchlists.md).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_watchlist import NOW_MS, make_cache  # noqa: E402


def main() -> None:
    from btcscan import api
    from btcscan.data.market import load_markets
    from btcscan.render.serial import to_jsonable
    from btcscan.settings import ScanSettings
    from btcscan.timeframes import parse_timeframe

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else max(2, cores or 2)
    settings = ScanSettings(timeframe="1d")
    tf = parse_timeframe("1d")
    with tempfile.TemporaryDirectory(prefix="btcscan-bench-") as tmp:
        symbols = make_cache(Path(tmp), n)
        series = load_markets(symbols, timeframe="1d", offline=True, cache_dir=Path(tmp),
                              now_ms=NOW_MS)

    def serial():
        return api.scan_each(series, tf, None, settings)

    def pooled():
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(lambda c: api.scan_one(c, tf, None, settings), series,
                                 chunksize=8))

    assert to_jsonable(tuple(pooled())) == to_jsonable(tuple(serial()))  # and warm
    t_one, t_many = [], []
    for _ in range(5):
        for fn, out in ((serial, t_one), (pooled, t_many)):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)

    def rng(xs: list[float]) -> str:
        return f"{min(xs) * 1e3:.0f}-{max(xs) * 1e3:.0f} ms"

    print(f"{n:,} daily series loaded, scan only, {cores} core(s), load "
          f"{os.getloadavg()[0]:.1f}; 5 alternating runs each")
    print(f"    one after the other  {rng(t_one)}")
    print(f"    {threads} threads            {rng(t_many)}   "
          f"ratio {min(t_many) / min(t_one):.2f} (best against best)")


if __name__ == "__main__":
    main()
