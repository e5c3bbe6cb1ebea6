"""One alert run: pick the signals to show (all, or only new ones with a state file),
show them, remember them, and deliver them (plus any still pending) to a webhook.

Order matters for cron: the signals are shown before they are marked as reported, and a
failed delivery keeps them ``pending`` in the state file for the next run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from btcscan.errors import NotifyError
from btcscan.models import SCHEMA_VERSION, Signal


@dataclass(frozen=True)
class Webhook:
    url: str
    timeout: float = 10.0
    retries: int = 3


def _deliver(hook: Webhook, pending: list[dict], signals: tuple[Signal, ...],
             kept: bool) -> tuple[list[dict], NotifyError | None]:
    """POST pending + new signals; returns (what is still pending, the failure or None)."""
    from btcscan.alerts.notify import post_json  # urllib, http, ssl: only when there is a hook
    from btcscan.render.serial import to_jsonable

    keys = {p.get("key") for p in pending}
    batch = pending + [to_jsonable(s) for s in signals if s.key not in keys]
    if not batch:
        return [], None
    try:
        post_json(hook.url, {"schema_version": SCHEMA_VERSION, "signals": batch},
                  timeout=hook.timeout, retries=hook.retries)
    except NotifyError as exc:
        more = f"; {len(batch)} signal(s) kept in --state, sent again next run" if kept else ""
        return batch, NotifyError(f"{exc}{more}")
    return [], None


def run_alerts(signals: tuple[Signal, ...], show: Callable[[tuple[Signal, ...]], None], *,
               state: str | None = None, new_only: bool = False, hook: Webhook | None = None,
               stamp: str = "") -> NotifyError | None:
    """Show the signals (only those not in ``state`` when ``new_only``), record them in
    ``state``, POST them to ``hook``. Returns the delivery failure instead of raising it,
    so the state is written first; the caller raises it."""
    if state is None:
        show(signals)
        return _deliver(hook, [], signals, kept=False)[1] if hook else None
    from btcscan.alerts.state import locked_state

    failure = None
    with locked_state(state) as st:
        shown = tuple(s for s in signals if s.key not in st.reported) if new_only else signals
        show(shown)
        for s in shown:
            st.reported.setdefault(s.key, stamp)
        if hook:
            st.pending, failure = _deliver(hook, st.pending, shown, kept=True)
    return failure
