"""Timing shared by the benchmarks (each script runs with this folder on ``sys.path``)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best(fn: Callable[[], object], repeat: int, *, warm: bool = False) -> float:
    """Best-of-``repeat`` wall time of ``fn()`` in seconds; ``warm`` runs it once first
    (JIT load, page cache) without timing it."""
    if warm:
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)
