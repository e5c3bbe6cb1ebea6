"""Files replaced whole: the candle cache and the alert state are each written to a
temporary file beside the old one and renamed over it, so a reader, a crash or a kill never
sees half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def replacing(path: Path, *, text: bool = False, durable: bool = False,
              mode: int | None = None) -> Iterator[IO]:
    """A new file for ``path``, open for writing (bytes, or UTF-8 ``text``). When the block
    ends without an error it replaces ``path`` in one rename; when it raises, the new file
    is removed and ``path`` is as it was.

    ``durable``: the data, then the rename, are flushed to disk (fsync) before this returns,
    so a power cut after it keeps the new file. ``mode``: the new file's permission bits
    (otherwise 0600, as ``tempfile.mkstemp`` makes it). Creating the temporary file raises
    ``OSError`` like any write into the directory would."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w" if text else "wb", encoding="utf-8" if text else None) as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            yield fh
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (where the platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
