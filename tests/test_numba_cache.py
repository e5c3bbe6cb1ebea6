"""The numba cache lives in a user cache dir and falls back when nothing there is writable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from btcscan.kernels import _jit


def _run(env_extra: dict, code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300, cwd=Path(__file__).resolve().parents[1])


PROBE = (
    "import json, numpy as np\n"
    "from btcscan.kernels import _jit\n"
    "from btcscan.kernels.rolling import sma\n"
    "print(json.dumps({'dir': _jit.CACHE_DIR, 'v': float(sma(np.arange(10.0), 4)[-1])}))\n"
)


def test_cache_goes_to_user_cache_dir(tmp_path):
    p = _run({"XDG_CACHE_HOME": str(tmp_path)}, PROBE)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out == {"dir": str(tmp_path / "btcscan" / "numba" / _jit.kernels_stamp()), "v": 7.5}
    assert any((tmp_path / "btcscan" / "numba").rglob("*.nbi"))  # index files were written


def test_cache_of_other_kernel_sources_is_pruned(tmp_path):
    """A new kernel source's cache keeps the two most recent other caches (two installs
    used in turn) and removes older ones, including the unstamped layout of earlier
    versions; a folder that is no numba cache is left alone."""
    root = tmp_path / "btcscan" / "numba"
    ages = {"0123456789abcdef": 50, "fedcba9876543210": 40, "00000000000000aa": 10,
            "kernels_7a92abc1a8d0a2bd800730c7f636f02271c514ad": 30}  # days old
    now = time.time()
    for name, days in ages.items():
        d = root / name
        d.mkdir(parents=True)
        (d / "pivots._raw_side-1.py311.nbi").write_bytes(b"stale")
        os.utime(d, (now - days * 86400, now - days * 86400))
    (root / "notes").mkdir()  # not a cache of ours
    p = _run({"XDG_CACHE_HOME": str(tmp_path)}, PROBE)
    assert p.returncode == 0, p.stderr
    left = {d.name for d in root.iterdir()}
    assert left == {_jit.kernels_stamp(), "notes", "00000000000000aa",
                    "kernels_7a92abc1a8d0a2bd800730c7f636f02271c514ad"}


def test_stamp_follows_every_kernel_source(tmp_path):
    """A change in one kernel file (here the pivot finder, which the divergence scan calls
    from its own file) gives another cache directory: numba alone
    would keep the callers' stale machine code."""
    src = Path(_jit.__file__).parent
    for f in src.glob("*.py"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    assert _jit.kernels_stamp(tmp_path) == _jit.kernels_stamp()
    piv = tmp_path / "pivots.py"
    piv.write_text(piv.read_text() + "\n# changed\n")
    assert _jit.kernels_stamp(tmp_path) != _jit.kernels_stamp()


def test_unwritable_user_cache_falls_back(tmp_path):
    # /proc is read-only even for root: the user cache dir cannot be created there
    p = _run({"XDG_CACHE_HOME": "/proc/btcscan-no-such-dir", "TMPDIR": str(tmp_path)}, PROBE)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["v"] == 7.5
    assert out["dir"].startswith(str(tmp_path))


def test_explicit_numba_cache_dir_wins(tmp_path):
    p = _run({"NUMBA_CACHE_DIR": str(tmp_path / "mine")}, PROBE)
    assert json.loads(p.stdout)["dir"] == str(tmp_path / "mine")


def test_no_writable_location_disables_cache(monkeypatch):
    from btcscan.kernels import _cache

    monkeypatch.setattr(_cache, "_writable", lambda path: False)
    assert _cache._choose_cache_dir() is None


# Counts how often this process builds numba's runtime (NRT) from its LLVM IR, as numba's
# own initialisation does (``rtsys._init`` says whether it was set up at all).
RUNTIME_BUILDS = (
    "from numba.core.runtime import nrtdynmod, rtsys\n"
    "runtime_builds, _create = [], nrtdynmod.create_nrt_module\n"
    "nrtdynmod.create_nrt_module = lambda ctx: (runtime_builds.append(1), _create(ctx))[1]\n"
)


# Every kernel a command uses, then a whole sample scan; prints a digest of all outputs and
# whether numba's lowering registries (loaded by its context refresh) were imported (run
# after RUNTIME_BUILDS).
EVERY_KERNEL = (
    "import hashlib, io, json, sys, numpy as np\n"
    "from btcscan import api\n"
    "from btcscan.kernels import rolling, pivots, trendlines, divergence, outcomes\n"
    "from btcscan.patterns import PatternParams\n"
    "from btcscan.render.serial import write_json\n"
    "rng = np.random.default_rng(5)\n"
    "c = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (1, 3000)), axis=1))\n"
    "h, lo = c * 1.01, c * 0.99\n"
    "p = PatternParams()\n"
    "a = rolling.atr(h[0], lo[0], c[0], 14)\n"
    "r = rolling.rsi(c[0], 14)\n"
    "log = pivots.zigzag(h[0], lo[0], a, 5, 5, 1.0)\n"
    "wedges = trendlines.scan_wedges(c[0], a, log, p)\n"
    "sc = outcomes.score_events(h[0], lo[0], c[0], np.array([100, 200]), np.array([1, -1]),\n"
    "                           np.array([[c[0, 100] * 1.05], [c[0, 200] * 0.95]]),\n"
    "                           np.array([c[0, 100] * 0.9, c[0, 200] * 1.1]), 50)\n"
    "parts = [rolling.sma(c[0], 50), r, a, *log.values(), wedges,\n"
    "         divergence.divergences(r, h[0], lo[0], p), *sc.values()]\n"
    "buf = io.StringIO()\n"
    "write_json(api.scan(sample=True), buf)\n"
    "arrays = 'numba.np.arrayobj' in sys.modules  # no kernel allocates inside\n"
    "d = hashlib.sha256()\n"
    "for x in parts:\n"
    "    d.update(np.ascontiguousarray(x).tobytes())\n"
    "d.update(buf.getvalue().encode())\n"
    "from btcscan.kernels import _jit\n"
    "from numba.core import entrypoints\n"
    "print(json.dumps({'digest': d.hexdigest(), 'arrays': arrays,\n"
    "                  'extensions': entrypoints._already_initialized,\n"
    "                  'registries': 'numba.cpython.cmathimpl' in sys.modules,\n"
    "                  'runtime': [rtsys._init, len(runtime_builds)]}))\n"
)


#: run 1's prefix: ``btcscan warmup``'s compile with its child process failing, so this
#: process compiles every kernel itself (numba's compile events name them)
COMPILE_ALL_ALONE = (
    "from numba.core import event\n"
    "from btcscan.kernels import _cache, warm\n"
    "warm._CHILD = 'raise SystemExit(3)'\n"
    "with event.install_recorder('numba:compile') as rec:\n"
    "    warm.compile_all()\n"
    "print(json.dumps({'compiled': sorted({e.data['dispatcher'].py_func.__name__\n"
    "                                      for _, e in rec.buffer}),\n"
    "                  'warm': _cache.is_warm()}))\n"
)


def test_cached_kernels_load_without_numba_refresh(tmp_path):
    """Run 1 compiles every kernel the commands use into an empty cache (compile_all with
    its child failing: this process compiles both groups itself); run 2 loads them all from
    it without numba's registry refresh (the start-up saving); run 3 loads with the refresh
    (BTCSCAN_NUMBA_EAGER_INIT=1). All three compute the same bytes."""
    from tests.test_first_run import CHILD_KERNELS, OWN_KERNELS

    env = {"NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    runs = [_run(env, RUNTIME_BUILDS + "import json\n" + COMPILE_ALL_ALONE + EVERY_KERNEL),
            _run(env, RUNTIME_BUILDS + EVERY_KERNEL),
            _run({**env, _jit.EAGER_ENV: "1"}, RUNTIME_BUILDS + EVERY_KERNEL)]
    for p in runs:
        assert p.returncode == 0, p.stderr
    alone, compiled_out = runs[0].stdout.splitlines()
    runs[0].stdout = compiled_out
    alone = json.loads(alone)
    assert alone["warm"]
    assert OWN_KERNELS | CHILD_KERNELS <= set(alone["compiled"])  # no child did any
    compiled, fast, eager = (json.loads(p.stdout) for p in runs)
    assert compiled["registries"] and eager["registries"]  # compiling needs them
    assert not fast["registries"]  # every kernel came from the cache, no refresh
    # numba's runtime (NRT) is set up by numba's refresh, compiling it from LLVM IR; the
    # kernels use none (compiled with _nrt=False), so loading them sets up none at all
    assert compiled["runtime"] == eager["runtime"] == [True, 1]
    assert fast["runtime"] == [False, 0]
    # nor did loading them read every installed package's entry points for numba extensions
    assert compiled["extensions"] and eager["extensions"] and not fast["extensions"]
    # and the kernels allocate nothing inside (numba's array module would be imported to
    # rebuild such a kernel's environment: ~35 ms of every start)
    assert not fast["arrays"]
    assert compiled["digest"] == fast["digest"] == eager["digest"]


def test_kernel_argument_types_are_numbas():
    """The kernels type exact ndarrays (alone or in tuples) without numba's masked-array
    check (``_jit._array_typeof``, which keeps numpy.ma out of a start): for every kind of
    argument, the type is the one numba's own ``typeof_pyval`` gives."""
    import numpy as np
    from numba.core.dispatcher import Dispatcher

    from btcscan.kernels import pivots, rolling
    from btcscan.kernels._jit import f64

    kernel = rolling._sma_into
    a = np.arange(12.0)
    records = np.zeros(3, dtype=[("bar", "i8"), ("price", "f8")])
    log = pivots.PivotLog(*(np.zeros(2, dtype=d) for d in ("i8", "i8", "f8", "i1", "i8", "f8")))
    arguments = [f64(a), a, a.reshape(3, 4), np.asfortranarray(a.reshape(3, 4)), a[::2],
                 f64(a.reshape(3, 4)), np.zeros(3, dtype=np.int8), records, records[:1],
                 np.zeros(0), np.zeros((2, 0)), np.zeros(3, dtype=object),
                 np.ma.masked_array(a), a.view(type("Sub", (np.ndarray,), {})), log,
                 (f64(a), 1, 2.5), (), (a, (f64(a), 3)), (a, object()), 5, 2.5,
                 np.float64(1.0), True, None]
    assert kernel.typeof_pyval is not None and "typeof_pyval" in vars(kernel)  # ours

    def typed(typeof_pyval, value):
        try:
            return typeof_pyval(value)
        except Exception as e:  # noqa: BLE001 - numba refuses a masked array: so must we
            return type(e), str(e)

    for value in arguments:
        ours, numbas = typed(kernel.typeof_pyval, value), typed(
            lambda v: Dispatcher.typeof_pyval(kernel, v), value)
        assert ours == numbas, value


#: compiles three functions, counting NumPy's ufunc loop searches for each (in a process of
#: its own: numba's compile leaves reference cycles that would be another test's garbage)
UFUNC_SEARCHES = r"""
import json
import numba
import numpy as np
from numba.core.typing import npydecl
from btcscan.kernels._jit import jit
searched = []
real = npydecl.ufunc_find_matching_loop
def spy(ufunc, arg_types):
    searched.append(ufunc.__name__)
    return real(ufunc, arg_types)
npydecl.ufunc_find_matching_loop = spy
def scalars(a, b):
    return (a * 0.5 + b) if a < b else a - b
def arrays(x, y):
    return x + y
out = {}
kernel = jit(cache=False)(scalars)  # as btcscan's kernels compile
out["kernel"] = [kernel(1.0, 3.0), kernel(3.0, 1.0), sorted(set(searched))]
searched.clear()
users_own = numba.njit(cache=False)(scalars)  # other code in the process: numba's rule
out["users_own"] = [users_own(1.0, 3.0), users_own(3.0, 1.0), sorted(set(searched))]
searched.clear()
on_arrays = jit(cache=False, _nrt=True)(arrays)  # a new array needs numba's runtime
out["arrays"] = [on_arrays(np.ones(2), np.ones(2)).tolist(), sorted(set(searched))]
print(json.dumps(out))
"""


def test_scalar_operators_are_typed_without_numpys_ufunc_loop_search(tmp_path):
    p = _run({"NUMBA_CACHE_DIR": str(tmp_path)}, UFUNC_SEARCHES)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert got["kernel"] == [3.5, 2.0, []]  # _jit: no ufunc search for operators on scalars
    assert got["users_own"][:2] == [3.5, 2.0]
    assert {"multiply", "add", "less"} <= set(got["users_own"][2])
    assert got["arrays"][0] == [2.0, 2.0]
    assert "add" in got["arrays"][1]  # an operator on arrays still goes through NumPy's rule


def test_a_cached_kernel_that_allocates_gets_numbas_runtime(tmp_path):
    # btcscan's kernels use no numba runtime; one compiled with it (jit(_nrt=True)) is
    # loaded from the cache with the runtime set up first, as numba's refresh would
    (tmp_path / "allocating.py").write_text(
        "from btcscan.kernels._jit import jit\n\n\n"
        "@jit(_nrt=True)\n"
        "def doubled(x):\n"
        "    return x * 2.0\n")
    code = ("import json, sys, numpy as np\n"
            f"sys.path.insert(0, {str(tmp_path)!r})\n"
            "from numba.core import event\n"
            "from numba.core.runtime import rtsys\n"
            "with event.install_recorder('numba:compile') as rec:\n"
            "    from allocating import doubled\n"
            "    v = doubled(np.arange(3.0)).tolist()\n"
            "print(json.dumps({'v': v, 'compiled': len(rec.buffer) > 0, "
            "'runtime': rtsys._init}))\n")
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    first, second = _run(env, code), _run(env, code)
    for p in (first, second):
        assert p.returncode == 0, p.stderr
    assert json.loads(first.stdout) == {"v": [0.0, 2.0, 4.0], "compiled": True, "runtime": True}
    assert json.loads(second.stdout) == {"v": [0.0, 2.0, 4.0], "compiled": False,
                                         "runtime": True}
