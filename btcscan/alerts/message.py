"""What a notification says: one record per signal for machines, a title and one line per
signal for people.

A record is the signal's JSON (as in ``scan --format json``) plus ``id`` (stable, the
idempotency key), ``level``, ``targets``, ``invalidation`` (``{"price", "rule"}``, the rule
that produced the number), ``source`` (the detector and its method) and ``asof``. Records
are what the ``--state`` outbox keeps, so a message is always built from records, whether
the signal is new or was pending from an earlier run.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from btcscan.alerts.signals import Alert, Mark, price_text, signal_id


def _mark(m: Mark | None) -> dict | None:
    return None if m is None else {"price": m.price, "rule": m.rule}


def record(alert: Alert) -> dict:
    """The machine record of one alert (JSON-ready)."""
    from btcscan.render.serial import to_jsonable

    return {**to_jsonable(alert.signal), "id": alert.id, "level": _mark(alert.level),
            "targets": [_mark(t) for t in alert.targets],
            "invalidation": _mark(alert.invalidation), "source": alert.source,
            "asof": alert.asof.strftime("%Y-%m-%dT%H:%M:%SZ")}


_TEXT = ("market", "symbol", "timeframe", "kind", "time", "detail", "key")


def _bad_number(x: object) -> bool:
    return isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x)


def _mark_problem(m: object, name: str) -> str | None:
    if not isinstance(m, dict) or not isinstance(m.get("rule"), str):
        return f"{name} is not {{price, rule}}"
    return f"{name}.price is {m.get('price')!r}, not a finite number" \
        if _bad_number(m.get("price")) else None


def record_problem(rec: object) -> str | None:
    """Why a stored record cannot be sent (a short phrase), or ``None`` when it can.
    Records written by older versions (no ``level``, ``targets``... yet) are fine."""
    if not isinstance(rec, dict):
        return f"a {type(rec).__name__}, not a signal record"
    for k in _TEXT:
        if not isinstance(rec.get(k), str) or not rec[k]:
            return f"{k} is {rec.get(k)!r}, not a text"
    if rec.get("id", signal_id(rec["key"])) != signal_id(rec["key"]):
        return f"id {rec.get('id')!r} does not match its key"
    if rec.get("price") is not None and _bad_number(rec["price"]):
        return f"price is {rec['price']!r}, not a finite number"
    for name in ("level", "invalidation"):
        if rec.get(name) is not None and (why := _mark_problem(rec[name], name)):
            return why
    targets = rec.get("targets", [])
    if not isinstance(targets, list):
        return "targets is not a list"
    for i, t in enumerate(targets):
        if why := _mark_problem(t, f"targets[{i}]"):
            return why
    for k in ("source", "asof"):
        if rec.get(k) is not None and not isinstance(rec[k], str):
            return f"{k} is not a text"
    return None


def completed(rec: dict, asof: str) -> dict:
    """A stored record with the fields an older btcscan did not write (no level, target or
    invalidation then); ``asof``: when it was first reported."""
    return {"id": signal_id(rec["key"]), "level": None, "targets": [], "invalidation": None,
            "source": "recorded by an earlier btcscan (no level, target or invalidation)",
            "asof": asof, **rec}


def batch_key(records: Sequence[dict]) -> str:
    """The idempotency key of one delivery: the signal's id when it carries one signal,
    else 32 hex digits of the SHA-256 of the ids in order (the same batch, resent after a
    crash, has the same key; each record also carries its own ``id``)."""
    ids = [r["id"] for r in records]
    if len(ids) == 1:
        return ids[0]
    return hashlib.sha256(",".join(ids).encode()).hexdigest()[:32]


def group_by_market(records: Sequence[dict]) -> list[list[dict]]:
    """Records per (market, timeframe), in order of first appearance: one message each."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["market"], r["timeframe"]), []).append(r)
    return list(groups.values())


def title(records: Sequence[dict]) -> str:
    """``btcscan: bitstamp:BTC/USD (bundled sample) 1w: 2 signals`` (records of one
    market and timeframe); several markets are counted."""
    n = len(records)
    what = f"{n} signal{'s' if n != 1 else ''}"
    markets = {(r["market"], r["timeframe"]) for r in records}
    if len(markets) == 1:
        return f"btcscan: {records[0]['market']} {records[0]['timeframe']}: {what}"
    return f"btcscan: {what} on {len(markets)} markets"


def _price(m: dict | None) -> str:
    return f"{price_text(m['price'])} ({m['rule']})"


def line(rec: dict) -> str:
    """One signal for a person: when, what, level, targets, invalidation, source, id."""
    day = rec["time"][:16].replace("T", " ").removesuffix(" 00:00")
    at = "" if rec.get("price") is None else f" at {price_text(rec['price'])}"
    parts = [f"{day} UTC {rec['kind']}{at}"]
    if rec.get("level"):
        parts.append(f"level {_price(rec['level'])}")
    targets = rec.get("targets", [])
    parts.append("target " + ("; ".join(_price(t) for t in targets) if targets else
                              "none (this signal's rule sets none)"))
    inval = rec.get("invalidation")
    parts.append(f"invalidation {_price(inval)}" if inval else "invalidation none")
    parts.append(f"source {rec['source']}" if rec.get("source") else rec["detail"])
    return " | ".join(parts) + f" | id {rec.get('id') or signal_id(rec['key'])}"


def text(records: Sequence[dict]) -> str:
    """The body for people: one line per signal, then where the candles came from."""
    lines = [line(r) for r in records]
    markets = dict.fromkeys(f"{r['market']} {r['timeframe']}" for r in records)
    asof = max((r.get("asof") or "" for r in records), default="")
    lines.append(f"data: {', '.join(markets)} candles" + (f", scanned as of {asof}" if asof
                                                          else ""))
    return "\n".join(lines)
