"""Compile ahead: every kernel the commands use, once, into numba's cache (``btcscan
warmup``, and the first scan on a machine). Each kernel has one signature (inputs are
normalised at the boundary, see :func:`btcscan.kernels._jit.f64`), so calling each public
wrapper once on a small series compiles exactly what any later scan needs.

With more than one core and a cache directory, the kernels are compiled in two groups at
once: a child process compiles :data:`CHILD_GROUP` into the cache while this process
compiles the rest, then this process loads the child's kernels from the cache (at once,
or, for the first scan, when it first calls one: the scan's own start runs beside the
child's compile). The groups share no jitted function (numba writes one index file per
function, each atomically). A kernel the child did not leave in the cache (it failed, was
killed, or there is no second core) is compiled here, so the result never depends on the
child."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from btcscan.kernels import _cache  # no numpy or numba here: the child starts before them

if TYPE_CHECKING:
    import numpy as np

#: what the first run says it waits for, in seconds: the cold first scan measured by
#: benchmarks/bench_first_run.py on a shared 2-core machine (see docs/patterns.md)
ESTIMATE_S = "3-10"

#: how long this process waits for the child before compiling its group itself
CHILD_TIMEOUT_S = 300

#: the group the child compiles (see :func:`compile_group`): it and the other one take about
#: as long to the end of the compile (measured: docs/patterns.md)
CHILD_GROUP = "wedges"

#: the jitted kernels of :data:`CHILD_GROUP` (module, name)
_CHILD_KERNELS = (("trendlines", "_scan_wedges_into"), ("outcomes", "_score"),
                  ("rolling", "_sma_into"))

#: the child's program; it ends with ``os._exit`` once its group is in the cache: the
#: interpreter's shutdown after numba has run (LLVM objects torn down one by one, ~0.25 s)
#: is time the first scan would wait for, and the cache files are written and closed by then.
#: A failing compile raises before it (exit status 1: this process compiles the rest).
_CHILD = ("import sys; sys.path.insert(0, {root!r}); "
          "from btcscan.kernels.warm import compile_group; compile_group({group!r}); "
          "import os; os._exit(0)")


def _series():
    import numpy as np

    from btcscan.patterns.params import PatternParams

    rng = np.random.default_rng(0)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 400)))
    return c, c * 1.01, c * 0.99, PatternParams()


def _pivot_log_stub(c: np.ndarray) -> dict[str, np.ndarray]:
    """A small alternating pivot log of the zig-zag's dtypes, built without the pivot
    kernels (so the wedge group compiles on its own)."""
    import numpy as np

    bar = np.arange(10, 390, 20, dtype=np.int64)
    side = np.where(np.arange(bar.size) % 2 == 0, 1, -1).astype(np.int8)
    return {"bar": bar, "confirm": bar + 5, "price": c[bar] * (1 + 0.02 * side),
            "side": side, "superseded_at": np.full(bar.size, -1, dtype=np.int64),
            "atr": c[bar + 5] * 0.02}


def compile_group(group: str) -> None:
    """Compile (or load from the cache) one group of kernels: ``"wedges"`` (wedge scan,
    outcome scorer and SMA) or ``"pivots"`` (ATR, RSI, the pivot finder, the zig-zag and
    the divergence scan). The two share no jitted function."""
    import numpy as np

    from btcscan.kernels import divergence, outcomes, pivots, rolling, trendlines

    c, h, lo, p = _series()
    if group == "wedges":
        trendlines.scan_wedges(c, c * 0.02, _pivot_log_stub(c), p)
        outcomes.score_events(h, lo, c, np.array([100]), np.array([1]),
                              np.array([[c[100] * 1.05]]), np.array([c[100] * 0.9]), 50)
        rolling.sma(c, 50)
    elif group == "pivots":
        a = rolling.atr(h, lo, c, p.atr_period)
        r = rolling.rsi(c, p.rsi_period)
        pivots.zigzag(h, lo, a, p.pivot_left, p.pivot_right, p.min_swing_atr)
        divergence.divergences(r, h, lo, p)
    else:
        raise ValueError(f"unknown kernel group {group!r}")


def _cores() -> int:
    """The cores this process may run on (its affinity, e.g. under ``taskset``)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _start_child() -> subprocess.Popen | None:
    """The child process compiling :data:`CHILD_GROUP` into the cache, or None when it
    would not help (one core, no cache directory, the group compiled in this process
    already) or cannot start."""
    if _cache.CACHE_DIR is None or _cores() < 2:
        return None
    for module, kernel in _CHILD_KERNELS:  # in memory here already (tests): no child
        m = sys.modules.get(f"btcscan.kernels.{module}")
        if m is not None and getattr(m, kernel).signatures:
            return None
    root = str(Path(__file__).resolve().parents[2])  # the directory holding btcscan/
    env = {**os.environ, "NUMBA_CACHE_DIR": _cache.CACHE_DIR}
    try:
        return subprocess.Popen([sys.executable, "-c", _CHILD.format(root=root,
                                                                      group=CHILD_GROUP)],
                                env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def _wait(child: subprocess.Popen | None) -> None:
    if child is None:
        return
    try:
        child.wait(timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:  # compiled here instead
        child.kill()
        child.wait()


def compile_all(wait: bool = True) -> float:
    """Compile (or load from the cache) every kernel a command uses; returns the seconds it
    took. Marks the cache warm (:func:`btcscan.kernels._cache.is_warm`).

    ``wait=False`` (the first scan): return once this process's group is compiled, while
    the child still compiles the other; the first kernel of the child's group this process
    loads waits for the child first (:func:`btcscan.kernels._jit.before_next_load`), so
    the scan's own start (data, imports) runs beside the child's compile. Anything of the
    child's group missing from the cache then compiles where it is first called."""
    t0 = time.perf_counter()
    child = _start_child()  # first: importing numpy and numba (below) takes a while
    try:
        compile_group("pivots")
    except BaseException:
        _wait(child)
        raise
    if child is not None and not wait:
        from btcscan.kernels import _jit

        finish = _Finish(child)
        if _jit.before_next_load(finish):
            atexit.register(finish)  # no child outlives this process
            return time.perf_counter() - t0
    _wait(child)
    compile_group(CHILD_GROUP)  # loads what the child cached; compiles anything missing
    _cache.mark_warm()
    return time.perf_counter() - t0


class _Finish:
    """Wait for the child (once); it compiled its group into the cache: mark it warm."""

    def __init__(self, child: subprocess.Popen) -> None:
        self.child: subprocess.Popen | None = child

    def __call__(self) -> None:
        child, self.child = self.child, None
        if child is None:
            return
        _wait(child)
        if child.returncode == 0:
            _cache.mark_warm()
