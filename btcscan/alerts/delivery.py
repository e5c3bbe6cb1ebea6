"""One alert run: pick the signals to show (all, or only new ones with a state file),
show them, remember them, and notify them (plus any still in the outbox).

The order is what makes cron safe, with ``--state``:

1. show the signals (stdout), then record them as reported and put their records in the
   outbox, and write the state: before anything is sent. A state that cannot be written
   stops the run here (:class:`CacheError`, exit 7) and nothing is sent;
2. per destination, send what it has not had yet, and record each delivery as soon as it
   is accepted. A crash between a send and its record sends that batch once more next run,
   with the same ids (each record's ``id``; the batch's ``idempotency_key``);
3. a failed destination keeps its items in the outbox and never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from btcscan.errors import BtcscanError, NotifyError, UsageError
from btcscan.models import Signal

if TYPE_CHECKING:  # notify.py loads urllib: only runs that notify import it
    from btcscan.alerts.notify import Destination


def _records(signals: Sequence[Signal], records: Mapping[str, dict] | None
             ) -> tuple[list[dict], list[tuple[dict, str]]]:
    """(records that can be sent, [(record, why not)]): a NaN never reaches a peer."""
    from btcscan.alerts.message import record_problem
    from btcscan.alerts.signals import signal_id
    from btcscan.render.serial import to_jsonable

    good, bad = [], []
    for s in signals:
        rec = (records or {}).get(s.key)
        rec = rec if rec is not None else {**to_jsonable(s), "id": signal_id(s.key)}
        why = record_problem(rec)
        if why:
            bad.append((rec, why))
        else:
            good.append(rec)
    return good, bad


def _send_all(dests: Sequence[Destination], owed: Callable[[Destination], list],
              delivered: Callable[[Destination, list], None]) -> list[BtcscanError]:
    """Each destination gets its owed items, batch by batch (``delivered`` records each
    accepted batch); its first failure stops it, never the others."""
    failures: list[BtcscanError] = []
    for d in dests:
        items = owed(d)
        recs = [i if isinstance(i, dict) else i.record for i in items]
        by_id = {r["id"]: i for r, i in zip(recs, items, strict=True)}
        for batch in d.batches(recs):
            try:
                d.send(batch)
            except (NotifyError, UsageError) as exc:
                failures.append(exc)
                break
            delivered(d, [by_id[r["id"]] for r in batch])
    return failures


def run_alerts(signals: tuple[Signal, ...], show: Callable[[tuple[Signal, ...]], None], *,
               state: str | None = None, new_only: bool = False,
               destinations: Sequence[Destination] = (),
               records: Mapping[str, dict] | None = None, stamp: str = "",
               warn: Callable[[str], None] | None = None) -> list[BtcscanError]:
    """Show the signals (only those not in ``state`` when ``new_only``), record them in
    ``state``, notify ``destinations`` (``records``: key -> record, see
    :mod:`btcscan.alerts.message`). Returns the delivery failures instead of raising them,
    so every destination is tried and the state is written; the caller raises them.
    ``warn`` gets one line per broken outbox item moved to quarantine."""
    say = warn or (lambda _: None)
    if state is None:
        show(signals)
        recs, bad = _records(signals, records) if destinations else ([], [])
        for rec, why in bad:
            say(f"signal {rec.get('key')} cannot be sent ({why}); not sent")
        return _send_all(destinations, lambda d: recs, lambda d, batch: None)
    from btcscan.alerts.state import OutboxItem, locked_state

    with locked_state(state) as st:
        for line in st.problems:
            say(line)
        shown = tuple(s for s in signals if s.key not in st.reported) if new_only else signals
        show(shown)
        for s in shown:
            st.reported.setdefault(s.key, stamp)
        if destinations:
            queued = {item.id for item in st.outbox}
            recs, bad = _records(shown, records)
            st.outbox += [OutboxItem(r["id"], r) for r in recs if r["id"] not in queued]
            for rec, why in bad:
                st.put_in_quarantine(rec, why)
                say(f"--state {st.path}: signal {rec.get('key')} cannot be sent ({why}); "
                    "put in its \"quarantine\" list, the others go on")
        st.save(force=bool(st.outbox) and bool(destinations))  # before anything is sent
        here = {d.id for d in destinations}

        def delivered(d: Destination, batch: list) -> None:
            for item in batch:
                item.delivered_to.append(d.id)
            st.outbox = [i for i in st.outbox if not here <= set(i.delivered_to)]
            st.save()

        return _send_all(destinations,
                         lambda d: [i for i in st.outbox if d.id not in i.delivered_to],
                         delivered)
