"""``--state PATH``: which signals were already reported, and the notification outbox.

The file is JSON::

    {"version": 2,
     "reported": {key: first-reported},
     "outbox": [{"id", "record", "delivered_to": [destination id, ...]}],
     "quarantine": [{"raw": the item's JSON text, "reason"}]}

``record`` is a signal record (:mod:`btcscan.alerts.message`); a destination id is a hash
of a ``--notify`` URL, so no URL (and no token in it) is ever written. An outbox item leaves
the outbox once every destination of the run has it. A stored item that cannot be sent (a
NaN, a wrong shape) moves to ``quarantine`` with the reason, and never blocks the others.
Version 1 files (``pending``: signal payloads) are read and rewritten as version 2.

Each write is atomic: a temporary file in the same folder, fsync, then ``os.replace``, while
holding ``PATH.lock`` (filelock), so two runs at once take turns and a crash never leaves
half a file. A symlinked ``PATH`` is resolved: its target is updated, the link stays.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from btcscan.atomic import replacing
from btcscan.errors import CacheError

STATE_VERSION = 2


@dataclass
class OutboxItem:
    """A signal record waiting for the destinations it has not reached yet."""

    id: str
    record: dict
    delivered_to: list[str] = field(default_factory=list)


@dataclass
class AlertState:
    """``reported``: signal key -> when it was first reported (ISO time of the scan);
    ``outbox``: records to notify; ``quarantine``: stored items that could not be sent;
    ``problems``: one line per item quarantined while reading (for stderr)."""

    reported: dict[str, str] = field(default_factory=dict)
    outbox: list[OutboxItem] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    path: Path | None = None
    _written: str | None = None

    def document(self) -> str:
        doc = {"version": STATE_VERSION, "reported": self.reported,
               "outbox": [{"id": i.id, "record": i.record, "delivered_to": i.delivered_to}
                          for i in self.outbox],
               "quarantine": self.quarantine}
        return json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n"

    def put_in_quarantine(self, item: object, why: str) -> None:
        """Keep ``item`` (as JSON text: it may hold a NaN) with the reason it is there."""
        self.quarantine.append({"raw": json.dumps(item, sort_keys=True, default=str),
                                "reason": why})

    def save(self, *, force: bool = False) -> None:
        """Write the state now (atomically); unchanged state is not rewritten unless
        ``force`` (a write before sending proves the state can be recorded)."""
        assert self.path is not None
        text = self.document()
        if force or text != self._written:
            try:
                _write(self.path, text)
            except OSError as exc:
                raise CacheError(f"cannot write the state file {self.path}: "
                                 f"{exc.strerror or exc}; nothing was sent") from None
            self._written = text


def _item_problem(item: object) -> str | None:
    from btcscan.alerts.message import record_problem

    if not isinstance(item, dict):
        return f"a {type(item).__name__}, not an outbox item"
    if not isinstance(item.get("delivered_to"), list) or not all(
            isinstance(d, str) for d in item["delivered_to"]):
        return "delivered_to is not a list of destination ids"
    why = record_problem(item.get("record"))
    if why is None and item.get("id") != item["record"].get("id"):
        why = f"id {item.get('id')!r} is not its record's"
    return why


def _quarantine(state: AlertState, path: Path, n: int, raw: object, why: str) -> None:
    state.put_in_quarantine(raw, why)
    state.problems.append(f"--state {path}: notification {n} of its outbox cannot be sent "
                          f"({why}); moved to its \"quarantine\" list, the others go on")


def _read(path: Path) -> AlertState:
    from btcscan.alerts.message import completed
    from btcscan.alerts.signals import signal_id

    state = AlertState(path=path)
    if not path.exists():
        return state
    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text)
    except (OSError, ValueError) as exc:
        raise CacheError(f"state file {path} is unreadable ({exc}); move it away to start "
                         "afresh (every current signal will then be reported once)") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    reported = doc.get("reported", {}) if isinstance(doc, dict) else None
    if version not in (1, STATE_VERSION) or not isinstance(reported, dict):
        raise CacheError(f"state file {path} is not a btcscan state file (version "
                         f"{STATE_VERSION}); give another --state path")
    state.reported = {str(k): str(v) for k, v in reported.items()}
    quarantine = doc.get("quarantine", [])
    state.quarantine = list(quarantine) if isinstance(quarantine, list) else []
    items = doc.get("outbox" if version == STATE_VERSION else "pending", [])
    if not isinstance(items, list):
        items = [items]
    for n, item in enumerate(items, 1):
        if version == 1 and isinstance(item, dict) and isinstance(item.get("key"), str):
            rec = {**item, "id": signal_id(item["key"])}  # a v1 payload: owed to everyone
            item = {"id": rec["id"], "record": rec, "delivered_to": []}
        why = _item_problem(item)
        if why:
            _quarantine(state, path, n, item, why)
        else:
            rec = item["record"]
            rec = completed(rec, state.reported.get(rec["key"], rec["time"]))
            state.outbox.append(OutboxItem(item["id"], rec, item["delivered_to"]))
    state._written = text if version == STATE_VERSION and not state.problems else None
    return state


def _write(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, keeping the old file's permissions
    (a new file is private: 0600)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    with replacing(path, text=True, durable=True, mode=mode) as fh:
        fh.write(text)


def resolve_state_path(path: str | os.PathLike) -> Path:
    """The file a ``--state`` path stands for: a symlink (or a chain of them) is followed,
    so the link's target is what is read, locked and replaced."""
    return Path(os.path.realpath(Path(path).expanduser()))


@contextmanager
def locked_state(path: str | os.PathLike, timeout: float = 60.0) -> Iterator[AlertState]:
    """Hold ``PATH.lock``, yield the state, and write it back atomically when the block
    ends without an exception (an exception keeps what :meth:`AlertState.save` wrote)."""
    from filelock import FileLock, Timeout

    p = resolve_state_path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(f"cannot create the folder of --state {p}: "
                         f"{exc.strerror or exc}") from None
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
        state.save()
    finally:
        lock.release()
