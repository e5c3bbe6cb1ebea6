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


def paired(fn: Callable[[], object], ref: Callable[[], object], repeat: int
           ) -> tuple[list[float], list[float]]:
    """Wall times of ``fn()`` and ``ref()`` run in turn ``repeat`` times (after one untimed
    run of each), so both see the same machine: on a shared VM whose speed drifts by
    20-30 % within a minute, timing one after the other can favour either side."""
    fn()
    ref()
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        a.append(time.perf_counter() - t)
        t = time.perf_counter()
        ref()
        b.append(time.perf_counter() - t)
    return a, b
