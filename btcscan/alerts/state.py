"""``--state PATH``: which signals were already reported, and which still await a webhook.

The file is JSON (``{"version": 1, "reported": {key: first-reported}, "pending": [...]}``),
written atomically (a temporary file in the same folder, then ``os.replace``) while holding
``PATH.lock`` (filelock), so two runs at once take turns and a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from btcscan.errors import CacheError

STATE_VERSION = 1


@dataclass
class AlertState:
    """``reported``: signal key -> when it was first reported (ISO time of the scan);
    ``pending``: signal payloads whose webhook delivery failed (retried next run)."""

    reported: dict[str, str] = field(default_factory=dict)
    pending: list[dict] = field(default_factory=list)


def _read(path: Path) -> AlertState:
    if not path.exists():
        return AlertState()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CacheError(f"state file {path} is unreadable ({exc}); move it away to start "
                         "afresh (every current signal will then be reported once)") from None
    if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION:
        raise CacheError(f"state file {path} is not a btcscan state file (version "
                         f"{STATE_VERSION}); give another --state path")
    return AlertState(reported=dict(doc.get("reported", {})), pending=list(doc.get("pending", [])))


def _write(path: Path, state: AlertState) -> None:
    doc = {"version": STATE_VERSION, "reported": state.reported, "pending": state.pending}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def locked_state(path: str | os.PathLike, timeout: float = 60.0) -> Iterator[AlertState]:
    """Hold ``PATH.lock``, yield the state, and write it back atomically when the block
    ends without an exception (an exception leaves the file as it was)."""
    from filelock import FileLock, Timeout

    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(f"cannot create the folder of --state {p}: {exc}") from None
    lock = FileLock(str(p) + ".lock")
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise CacheError(f"state file {p} is locked by another btcscan run for more than "
                         f"{timeout:g} s; try again later") from None
    except OSError as exc:  # e.g. PermissionError: the folder is not writable
        raise CacheError(f"cannot create the lock file {p}.lock of --state ({exc.strerror}); "
                         "give a --state path in a writable folder") from None
    try:
        state = _read(p)
        yield state
        try:
            _write(p, state)
        except OSError as exc:
            raise CacheError(f"cannot write the state file {p}: {exc}") from None
    finally:
        lock.release()
