"""What a new user waits for: the first run (numba compiling) against a warm run.

    python benchmarks/bench_first_run.py [--repeat 3]

All in this one run, each command in a fresh subprocess:

* cold ``btcscan scan --sample`` with an empty ``NUMBA_CACHE_DIR`` vs the same command warm
  (best of ``--repeat``), and warm vs ``python -c "import polars, numba, click, rich"``;
* the first ``--from-file`` scans of a daily CSV at ``-t 1d`` and a 4h CSV at ``-t 4h``
  after that sample scan (same cache) vs the same scans warm;
* in one more process with another empty cache: the kernels numba compiled (its compile
  events) and the signatures each kernel holds after the sample scan, then after each file
  scan; a new signature is "compiled" or "loaded from the cache" (the first scan leaves the
  child process's kernels in the cache and loads each on first use).

Commands run the ``btcscan`` script beside this python (what a user runs, with its fast
exit), else ``python -m btcscan``.

``--rounds N`` measures only the cold/warm ratio, N times (each with a new empty cache), and
prints every round, the best and the median. ``--against DIR`` (with ``--rounds``) also runs
the btcscan source tree in DIR (e.g. ``git archive main | tar -x -C DIR``) the same way,
alternating with this install round by round, so both see the same machine load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: commands run from here, so ``python -m btcscan`` imports the installed package (not a
#: source tree in the working directory): run this with a new virtualenv's python
NEUTRAL = tempfile.gettempdir()
DATA = Path("/work/shared/data")
FILE_1D = DATA / "btcusdt_1d.csv"
FILE_4H = DATA / "btcusdt_4h.csv.gz"
#: the ``btcscan`` command a user runs (its fast exit included), beside this python; else
#: ``python -m btcscan``
_SCRIPT = Path(sys.executable).with_name("btcscan")
BTCSCAN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "btcscan"]

COUNT = r"""
import sys, time
import numba
from numba.core.registry import CPUDispatcher
from click.testing import CliRunner
import btcscan.kernels as K
from btcscan.cli import cli
from numba.core import event

compiles = event.RecordingListener()  # numba's compile events: a cached kernel fires none
event.register("numba:compile", compiles)

def dispatchers():
    import importlib, pkgutil
    out = {}
    for m in pkgutil.iter_modules(K.__path__):
        mod = importlib.import_module(f"btcscan.kernels.{m.name}")
        for name, obj in vars(mod).items():
            if isinstance(obj, CPUDispatcher) and obj.__module__ == mod.__name__:
                out[f"{m.name}.{name}"] = obj
    return out

seen = {}
for label, args in [("scan --sample", ["scan", "--sample"]),
                    ("--from-file 1d -t 1d", ["scan", "--from-file", sys.argv[1], "-t", "1d"]),
                    ("--from-file 4h -t 4h", ["scan", "--from-file", sys.argv[2], "-t", "4h"])]:
    t = time.perf_counter()
    r = CliRunner().invoke(cli, args, env={"COLUMNS": "100", "NO_COLOR": "1"})
    dt = time.perf_counter() - t
    compiled = [e.data["dispatcher"].py_func.__name__ for _, e in compiles.buffer if e.is_start]
    new = {}
    for name, d in dispatchers().items():
        k = len(d.signatures)
        if k > seen.get(name, 0):
            new[name] = k - seen.get(name, 0)
        seen[name] = k
    more = [f"{n} x{seen[n]}" for n in sorted(seen) if seen[n] > 1]
    print(f"{label:24s} exit {r.exit_code}  {dt:6.2f} s  compiled {len(compiled):2d}, new "
          f"signatures {sum(new.values()):2d} over {len(new):2d} kernels; totals "
          f"{sum(seen.values())} signatures over {sum(1 for v in seen.values() if v)} kernels"
          + (f"; more than one: {', '.join(more)}" if more else ""))
    for n in sorted(new):
        how = "compiled" if n.split(".", 1)[1] in compiled else "loaded from the cache"
        print(f"    + {n}: {new[n]} ({how})")
    compiles.buffer.clear()
"""


def run(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=NEUTRAL, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def best(cmd: list[str], env: dict, k: int) -> float:
    return min(run(cmd, env) for _ in range(k))


def cold_warm(env: dict, k: int) -> tuple[float, float]:
    """(cold, best warm) ``scan --sample`` seconds with a new empty cache."""
    sample = [*BTCSCAN, "scan", "--sample"]
    with tempfile.TemporaryDirectory(prefix="btcscan-bench-cache-") as cache:
        env = {**env, "NUMBA_CACHE_DIR": cache, "COLUMNS": "100", "NO_COLOR": "1"}
        return run(sample, env), best(sample, env, k)


def rounds(n: int, k: int, against: str | None) -> None:
    variants = {"this install": {**os.environ}}
    if against:
        variants[f"source tree {against}"] = {**os.environ, "PYTHONPATH": against}
    got: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
    load0 = os.getloadavg()[0]
    for i in range(n):
        for v, env in (variants.items() if i % 2 == 0 else reversed(variants.items())):
            cold, warm = cold_warm(env, k)
            got[v].append((cold, warm))
            print(f"  round {i + 1} {v:40s} cold {cold:6.2f} s  warm {warm:5.2f} s  "
                  f"{cold / warm:6.2f}x  (load {os.getloadavg()[0]:.2f})", flush=True)
    print(f"cold first scan --sample vs warm, {n} rounds -- python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cpus, load {load0:.2f} -> {os.getloadavg()[0]:.2f}")
    for v, runs in got.items():
        ratios = sorted(c / w for c, w in runs)
        colds = sorted(c for c, _ in runs)
        print(f"  {v:40s} ratio best {ratios[0]:6.2f}x  median {statistics.median(ratios):6.2f}x"
              f"  cold best {colds[0]:5.2f} s  median {statistics.median(colds):5.2f} s")
    print("goal: cold <= 5x warm")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=0)
    ap.add_argument("--against", default=None)
    a = ap.parse_args()
    k = a.repeat
    if a.rounds:
        rounds(a.rounds, k, a.against)
        return
    sample = [*BTCSCAN, "scan", "--sample"]
    f1 = [*BTCSCAN, "scan", "--from-file", str(FILE_1D), "-t", "1d"]
    f4 = [*BTCSCAN, "scan", "--from-file", str(FILE_4H), "-t", "4h"]
    with tempfile.TemporaryDirectory(prefix="btcscan-bench-cache-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "COLUMNS": "100", "NO_COLOR": "1"}
        cold = run(sample, env)
        warm = best(sample, env, k)
        imports = best([sys.executable, "-c", "import polars, numba, click, rich"], env, k)
        rows = [("cold first scan --sample (empty cache)", cold, warm, "warm scan --sample"),
                ("warm scan --sample", warm, imports, "import polars, numba, click, rich")]
        files = [(FILE_1D, f1, "1d"), (FILE_4H, f4, "4h")]
        for path, cmd, tf in files:
            if path.is_file():
                first = run(cmd, env)
                w = best(cmd, env, k)
                rows.append((f"first --from-file {path.name} -t {tf} after it", first, w,
                             "the same scan warm"))
    print(f"first run (numba cache) -- python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}")
    for label, t, ref, ref_label in rows:
        print(f"  {label:48s} {t:7.2f} s  {t / ref:6.2f}x  vs {ref_label} ({ref:.2f} s)")
    print("goals: cold <= 5x warm; file scans after the sample scan <= 1.5x warm (no new "
          "compile); warm <= 1.2x the imports")
    if FILE_1D.is_file() and FILE_4H.is_file():
        with tempfile.TemporaryDirectory(prefix="btcscan-bench-cache-") as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            print("signatures compiled (empty cache, one process):")
            subprocess.run([sys.executable, "-c", COUNT, str(FILE_1D), str(FILE_4H)], env=env,
                           cwd=NEUTRAL, check=True)


if __name__ == "__main__":
    main()
