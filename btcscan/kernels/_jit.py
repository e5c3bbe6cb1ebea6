"""The one place numba is configured.

* ``cache=True`` so the JIT compile is paid once per machine, not per run. The cache
  lives in a user cache directory (platformdirs), not beside the installed sources, so a
  read-only site-packages works; one subdirectory per digest of the kernel sources
  (:func:`kernels_stamp`: numba keys a cached function on its own file only, not on the
  kernels it calls from other files). ``NUMBA_CACHE_DIR`` set by the user wins. If no
  location is writable, kernels compile without a cache instead of failing at import.
* ``fastmath`` off by default: the rolling kernels reproduce TA-Lib's operation order bit
  for bit, which reassociation would break. Kernels that opt in (``fastmath={...}``) never
  use ``nnan``/``ninf``: warm-up values are NaN and must stay NaN.
* Loading a kernel from the cache skips numba's one-time registry refresh (see
  :func:`_fast_cache_load`): about 0.3 s of every start-up otherwise.
* Cached kernels also skip numba's extension discovery and type their array arguments
  without importing ``numpy.ma``; they use no numba runtime (NRT), so none is set up.
* Compiling btcscan's kernels types operators on scalars without NumPy's ufunc loop search
  (:func:`_scalar_operators_without_ufunc_search`): about 0.1 s of each first-run compile.
* Kernels compile without numba's reference counting and C-callable wrappers
  (:func:`jit`): less to compile on the first run.
"""

from __future__ import annotations

import os
import threading

import numpy as np

# the cache location is chosen without numba (the CLI reads it before numba loads)
from btcscan.kernels._cache import (  # noqa: F401  (re-exported)
    CACHE_DIR,
    KEEP_OTHER_CACHES,
    _choose_cache_dir,
    _writable,
    kernels_stamp,
)

#: fastmath flags a kernel may opt into (never nnan/ninf: warm-ups are NaN)
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


if CACHE_DIR is not None:
    os.environ["NUMBA_CACHE_DIR"] = CACHE_DIR

import numba  # noqa: E402  (must come after NUMBA_CACHE_DIR is set)


def _without_cffi_support() -> None:
    """Numba's first call loads its cffi typing support when cffi is installed (it pulls in
    cffi and pycparser, ~30 ms of a cold start); the kernels never call cffi functions, so
    numba's cffi support is initialised as if cffi were absent. cffi itself stays
    importable; only numba's typing of cffi functions is off in this process."""
    import sys

    if "cffi" in sys.modules or "numba.core.typing.cffi_utils" in sys.modules:
        return  # someone uses cffi already: leave numba as it is
    sys.modules["cffi"] = None  # type: ignore[assignment]  # makes `import cffi` fail
    try:
        import numba.core.typing.cffi_utils  # noqa: F401
    except ImportError:
        pass
    finally:
        del sys.modules["cffi"]


_without_cffi_support()


#: whether this thread is compiling one of btcscan's kernels (see :func:`_own_typing`)
_compiling = threading.local()


def _scalar_operators_without_ufunc_search() -> None:
    """numba types each operator call (``a < b``, ``x * 0.5``: hundreds per kernel, each
    typed several times) by trying its templates in turn, and the first is NumPy's rule
    for operators on arrays: it looks up the operator's ufunc loop for the operand types
    and only then returns None because no operand is an array. That search is about a
    twentieth of a kernel's compile. While btcscan compiles its own kernels (and only
    then: :func:`_own_typing`), the rule returns None before searching when no operand
    (optional types stripped, as the rule itself does) is an array: the same answer, so
    typing and the compiled code are unchanged. Operators with an array operand, and any
    other code numba compiles in the process, go through the rule as before. Not applied on
    a numba without this rule."""
    try:
        from numba.core import types
        from numba.core.typing.npydecl import NumpyRulesArrayOperator
    except ImportError:  # pragma: no cover - numba without this module
        return
    generic = NumpyRulesArrayOperator.__dict__.get("generic")
    if generic is None or getattr(generic, "arrays_only", False):
        return

    def arrays_only(self, args, kws):
        if getattr(_compiling, "kernel", False) and not any(
                isinstance(a.type if isinstance(a, types.Optional) else a,
                           types.ArrayCompatible) for a in args):
            return None
        return generic(self, args, kws)

    arrays_only.arrays_only = True
    NumpyRulesArrayOperator.generic = arrays_only


def _own_typing(dispatcher):
    """``dispatcher`` (one of btcscan's kernels) compiling with the shortcut of
    :func:`_scalar_operators_without_ufunc_search` on, in this thread, while it compiles
    (or loads from the cache); the kernels it calls compile inside that call."""
    compile_sig = dispatcher.compile

    def compile_here(sig):
        before = getattr(_compiling, "kernel", False)
        _compiling.kernel = True
        try:
            return compile_sig(sig)
        finally:
            _compiling.kernel = before

    dispatcher.compile = compile_here
    return dispatcher


_scalar_operators_without_ufunc_search()

if CACHE_DIR is not None:
    numba.config.CACHE_DIR = CACHE_DIR  # numba may have been imported before us

_CACHE = CACHE_DIR is not None

#: set to 1 to load cached kernels the way numba does by default (full refresh first)
EAGER_ENV = "BTCSCAN_NUMBA_EAGER_INIT"

#: what runs before the next kernel is loaded from the cache (:func:`before_next_load`)
_before_load: list = []
#: whether this process's kernels load through :func:`_fast_cache_load`'s loader
_hooked = False


def before_next_load(fn) -> bool:
    """Run ``fn()`` once, before the next kernel of this process is loaded from numba's
    cache (the first run: wait for the process compiling the other kernels into it).
    Returns False, and registers nothing, when loads cannot be hooked."""
    if not _hooked:
        return False
    _before_load.append(fn)
    return True


def _no_extensions() -> None:
    """The kernels' compilation-chain hook: numba's ``entrypoints.init_all`` not called."""


def _array_typeof(dispatcher):
    """``dispatcher.typeof_pyval`` that types exact ``np.ndarray`` arguments, alone or in
    tuples (the pivot log), itself.

    numba's C dispatcher types a read-only array (every kernel input: :func:`f64`) and a
    tuple in Python, once per kind of argument and process, and numba's ndarray rule first
    asks whether the array is a ``numpy.ma.MaskedArray``, which imports ``numpy.ma``
    (~10 ms of a start) although nothing here uses it. An array whose type is exactly
    ``np.ndarray`` is no masked array: it gets the type numba's rule builds; anything else
    is typed by numba (a test compares the two on every kind of argument the kernels take).
    """
    from numba.core import types
    from numba.core.typing.typeof import Purpose, typeof
    from numba.np import numpy_support

    numba_typeof = dispatcher.typeof_pyval

    def numba_type(val):
        if type(val) is np.ndarray:
            return types.Array(numpy_support.from_dtype(val.dtype), val.ndim,
                               numpy_support.map_layout(val), readonly=not val.flags.writeable)
        if isinstance(val, tuple):
            items = [numba_type(v) for v in val]
            return None if None in items else types.BaseTuple.from_types(items, type(val))
        return typeof(val, Purpose.argument)

    def typeof_pyval(val):
        if not (type(val) is np.ndarray or isinstance(val, tuple)):
            return numba_typeof(val)
        try:
            tp = numba_type(val)
        except Exception:  # noqa: BLE001 - what numba cannot type: numba says so
            return numba_typeof(val)
        if tp is None:
            return numba_typeof(val)
        dispatcher._types_active_call.add(tp)
        return tp

    return typeof_pyval


def _fast_cache_load(dispatcher) -> None:
    """Let ``dispatcher`` (one of btcscan's kernels) load its cached machine code without
    numba's context refresh.

    numba's ``Cache.load_overload`` first calls ``target_context.refresh()``, which imports
    and installs every lowering registry numba has (complex math, unicode, random,
    linalg, typed containers...): about 0.3 s, paid by the first cached kernel of every
    process, although loading finished machine code needs none of it. The refresh also
    initialises numba's runtime (NRT: reference counts, allocation; ~20 ms, compiled from
    LLVM IR in every process), which btcscan's kernels do not use (:func:`jit`); a kernel
    compiled with it gets it initialised here before it loads. A kernel that is not
    in the cache is compiled as usual, and compiling refreshes the context itself
    (``numba.core.compiler.compile_extra``). Only btcscan's own dispatchers are changed,
    never numba's class; ``$BTCSCAN_NUMBA_EAGER_INIT=1`` turns it off, and on a numba
    without these internals it is not applied.
    """
    if os.environ.get(EAGER_ENV, "") not in ("", "0"):
        return
    cache = getattr(dispatcher, "_cache", None)
    try:
        from numba.core.caching import Cache
    except ImportError:  # pragma: no cover - numba without these internals
        return
    if not (isinstance(cache, Cache) and hasattr(cache, "_load_overload")
            and hasattr(cache, "_guard_against_spurious_io_errors")):
        return

    def load_overload(sig, target_context):
        while _before_load:
            _before_load.pop()()
        if dispatcher.targetoptions.get("_nrt", True):  # a kernel using numba's runtime
            from numba.core.runtime import rtsys

            rtsys.initialize(target_context)
        with cache._guard_against_spurious_io_errors():
            return cache._load_overload(sig, target_context)

    cache.load_overload = load_overload
    # numba's first call also loads every installed package's numba extensions (it reads
    # the entry points of all installed distributions, ~5-10 ms); the kernels use no
    # extension types, so their calls skip it (other jitted code in the process still
    # triggers it as usual)
    dispatcher._compilation_chain_init_hook = _no_extensions
    dispatcher.typeof_pyval = _array_typeof(dispatcher)
    global _hooked
    _hooked = True


def jit(fn=None, **overrides):
    """``numba.njit`` with the project's options (cache, fastmath without nnan/ninf).

    A helper with ``inline="always"`` is compiled into its callers only, so it gets no
    cache of its own (numba probes the cache directory for each cached function at import).

    Kernels are compiled without numba's runtime (``_nrt=False``): they allocate nothing
    (outputs and scratch come from their wrappers) and return no arrays, so the reference
    counting numba otherwise compiles around every array value is not needed (a kernel
    that allocated would fail to compile, not misbehave). Nor do they get a C-callable
    wrapper (``no_cfunc_wrapper``): only numba's first-class function calls use one.
    """
    opts = {"cache": _CACHE and overrides.get("inline") != "always", "fastmath": False,
            "nogil": True, "no_cfunc_wrapper": True, "_nrt": False}
    opts.update(overrides)

    def decorate(f):
        try:
            d = numba.njit(**opts)(f)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return _own_typing(numba.njit(**{**opts, "cache": False})(f))
        if opts["cache"]:
            _fast_cache_load(d)
        return _own_typing(d)

    return decorate if fn is None else decorate(fn)


def f64(x) -> np.ndarray:
    """``x`` as the one kind of float input array every kernel is compiled for: C-contiguous
    float64, read-only (a view: no copy when ``x`` already is float64 and contiguous).
    numba compiles another copy of a kernel for writable vs read-only arrays, and polars
    hands out read-only ones; kernels never write into their inputs."""
    return readonly(np.ascontiguousarray(x, dtype=np.float64))


def readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a`` (see :func:`f64`); ``a`` itself when it is read-only."""
    if not a.flags.writeable:
        return a
    v = a.view()
    v.setflags(write=False)
    return v
