"""Where numba's cache lives, chosen without importing numba (see :mod:`btcscan.kernels._jit`),
and whether the kernels the commands use are in it already (:func:`is_warm`)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
        return True
    except OSError:
        return False


def kernels_stamp(directory: Path | None = None) -> str:
    """A digest of every kernel module's source. numba keys a cached function on its own
    file only, so a kernel that calls one from another module (the divergence scan calling
    the pivot finder) would keep running stale machine code after that other file changed;
    btcscan's default cache directory is one per stamp instead."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted((directory or Path(__file__).parent).glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


#: caches of other kernel sources kept beside the current one (two installs of different
#: versions used in turn must not keep deleting each other's cache)
KEEP_OTHER_CACHES = 2


def _prune_siblings(stamped: Path) -> None:
    """Remove the caches of other kernel sources (older installs) beside a new one, all but
    the ``KEEP_OTHER_CACHES`` most recently modified, so the cache does not grow with every
    upgrade. Caches are the other stamp directories and numba's own per-source directories
    (``kernels_<sha1>`` holding ``*.nbi`` index files) that the unstamped layout of earlier
    versions wrote straight into the root; anything else is left alone."""
    import shutil

    caches = []
    for d in stamped.parent.iterdir():
        if d == stamped or not d.is_dir():
            continue
        stamp_named = len(d.name) == 16 and all(ch in "0123456789abcdef" for ch in d.name)
        if stamp_named or any(d.glob("*.nbi")):
            caches.append((d.stat().st_mtime, d))
    caches.sort(reverse=True)
    for _, d in caches[KEEP_OTHER_CACHES:]:
        shutil.rmtree(d, ignore_errors=True)


def _choose_cache_dir() -> str | None:
    """The numba cache directory to use, or None when nothing is writable.

    ``$NUMBA_CACHE_DIR`` set by the user is used as it is. Otherwise the user cache dir
    (then a temp dir) gets one subdirectory per :func:`kernels_stamp`."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env and _writable(Path(env)):
        return env
    roots: list[Path] = []
    try:
        import platformdirs

        roots.append(Path(platformdirs.user_cache_dir("btcscan")) / "numba")
    except Exception:  # noqa: BLE001 - platformdirs failing must not break import
        pass
    roots.append(
        Path(tempfile.gettempdir())
        / f"btcscan-numba-{os.getuid() if hasattr(os, 'getuid') else 'u'}"
    )
    stamp = kernels_stamp()
    for root in roots:
        c = root / stamp
        new = not c.is_dir()
        if _writable(c):
            if new:
                _prune_siblings(c)
            return str(c)
    return None


CACHE_DIR = _choose_cache_dir()


def _marker() -> Path | None:
    # the stamp is in the name: a user's own NUMBA_CACHE_DIR is not one directory per stamp
    return None if CACHE_DIR is None else Path(CACHE_DIR) / f".btcscan-warm-{kernels_stamp()}"


def is_warm() -> bool:
    """Whether :func:`btcscan.kernels.warm.compile_all` has filled the cache for these
    kernel sources (one ``stat``: cheap enough to ask before numba is imported)."""
    m = _marker()
    return m is not None and m.is_file()


def mark_warm() -> None:
    """Record that every kernel the commands use is in the cache (after compiling them)."""
    m = _marker()
    if m is not None:
        try:
            m.write_text("compiled\n", encoding="utf-8")
        except OSError:  # a cache we cannot write to is compiled again next time
            pass
