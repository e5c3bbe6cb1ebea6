"""Compile ahead: every kernel the commands use, once, into numba's cache (``btcscan
warmup``, and the first scan on a machine). Each kernel has one signature (inputs are
normalised at the boundary, see :func:`btcscan.kernels._jit.f64`), so calling each public
wrapper once on a small series compiles exactly what any later scan needs."""

from __future__ import annotations

import time

import numpy as np

from btcscan.kernels import _cache

#: what the first run says it waits for, in seconds: the cold first scan measured by
#: benchmarks/bench_first_run.py on a shared 2-core machine (7 s at load 3, 20 s at load 6)
ESTIMATE_S = "10-20"


def compile_all() -> float:
    """Compile (or load from the cache) every kernel a command uses; returns the seconds it
    took. Marks the cache warm (:func:`btcscan.kernels._cache.is_warm`)."""
    t0 = time.perf_counter()
    from btcscan.kernels import divergence, outcomes, pivots, rolling, trendlines
    from btcscan.patterns.params import PatternParams

    rng = np.random.default_rng(0)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 400)))
    h, lo = c * 1.01, c * 0.99
    p = PatternParams()
    rolling.sma(c, 50)
    r = rolling.rsi(c, p.rsi_period)
    a = rolling.atr(h, lo, c, p.atr_period)
    log = pivots.zigzag(h, lo, a, p.pivot_left, p.pivot_right, p.min_swing_atr)
    trendlines.scan_wedges(c, a, log, p)
    divergence.divergences(r, h, lo, p)
    outcomes.score_events(h, lo, c, np.array([100]), np.array([1]), np.array([[c[100] * 1.05]]),
                          np.array([c[100] * 0.9]), 50)
    _cache.mark_warm()
    return time.perf_counter() - t0
