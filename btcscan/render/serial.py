"""Machine views of a scan: JSON (one document), NDJSON (one line per series), CSV (one row
per signal), and the conversion they share. The JSON Schema of the first two ships in
``btcscan/schemas/scan.schema.json`` (see :func:`schema`)."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from datetime import datetime
from enum import Enum
from functools import lru_cache
from typing import Any, TextIO

from btcscan.models import ConditionResult, ScanResult, Signal


def iso(dt: datetime) -> str:
    """UTC datetime -> ``2025-06-30T00:00:00Z``."""
    return _iso(dt)


@lru_cache(maxsize=1 << 16)  # candle times recur across markets and events
def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


#: dataclass type -> the names written (fields, then ``__json_properties__``)
_NAMES: dict[type, tuple[str, ...] | None] = {}
_UNSEEN = object()
_PLAIN = (str, int, bool, type(None))


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, tuples, datetimes and floats -> JSON-ready values (NaN -> None)."""
    t = type(obj)
    if t is float:
        return obj if math.isfinite(obj) else None
    if t in _PLAIN:
        return obj
    if t is tuple or t is list:
        return [to_jsonable(v) for v in obj]
    names = _NAMES.get(t, _UNSEEN)
    if names is _UNSEEN:  # first object of this type: a dataclass (its names) or not (None)
        names = _NAMES[t] = ((tuple(f.name for f in dataclasses.fields(obj))
                              + tuple(getattr(t, "__json_properties__", ())))  # derived fields
                             if dataclasses.is_dataclass(obj) and not isinstance(obj, type)
                             else None)
    if names is not None:
        return {n: to_jsonable(getattr(obj, n)) for n in names}
    if isinstance(obj, datetime):
        return _iso(obj)
    if isinstance(obj, float):
        return None if not math.isfinite(obj) else obj
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj


def schema() -> dict:
    """The JSON Schema (draft 2020-12) shipped with the package."""
    from importlib import resources

    return json.loads(resources.files("btcscan").joinpath("schemas", "scan.schema.json")
                      .read_text(encoding="utf-8"))


def result_dict(result: ScanResult, signals: tuple[Signal, ...] = (),
                conditions: tuple[ConditionResult, ...] = (), new_only: bool = False) -> dict:
    """The JSON document for a scan (``schema_version`` first): the series, the signals
    (only new ones when ``new_only``) and the ``--fail-on`` verdicts."""
    d = to_jsonable(result)
    return {"schema_version": d.pop("schema_version"), **d, "signals": to_jsonable(signals),
            "new_only": new_only, "conditions": to_jsonable(conditions)}


def write_json(result: ScanResult, out: TextIO, signals: tuple[Signal, ...] = (),
               conditions: tuple[ConditionResult, ...] = (), new_only: bool = False) -> None:
    json.dump(result_dict(result, signals, conditions, new_only), out, indent=2, allow_nan=False)
    out.write("\n")


def write_ndjson(result: ScanResult, out: TextIO, signals: tuple[Signal, ...] = (),
                 conditions: tuple[ConditionResult, ...] = (), new_only: bool = False) -> None:
    """One JSON object per line: each series with its own signals and conditions, then one
    line per failed market (``{"schema_version", "error"}``)."""
    v = result.schema_version
    for r in result.series:
        mine = r.source.label
        line = {"schema_version": v, "series": to_jsonable(r),
                "signals": to_jsonable([s for s in signals
                                        if s.market == mine and s.timeframe == r.timeframe]),
                "new_only": new_only,
                "conditions": to_jsonable([c for c in conditions if c.market == mine])}
        out.write(json.dumps(line, allow_nan=False, separators=(",", ":")) + "\n")
    for e in result.errors:
        out.write(json.dumps({"schema_version": v, "error": to_jsonable(e)},
                             separators=(",", ":")) + "\n")


#: CSV columns, one row per signal
CSV_COLUMNS = ("market", "symbol", "timeframe", "asof", "signal", "time", "price", "detail", "key",
               "trigger_level")


def write_csv(result: ScanResult, out: TextIO, signals: tuple[Signal, ...] = ()) -> None:
    """One row per signal under a fixed header (the header alone when there is none)."""
    asof = {(r.source.label, r.timeframe): iso(r.asof) for r in result.series}
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for s in signals:
        w.writerow([s.market, s.symbol, s.timeframe, asof.get((s.market, s.timeframe), ""),
                    s.kind, iso(s.time), "" if s.price is None else repr(float(s.price)),
                    s.detail, s.key,
                    "" if s.trigger_level is None else repr(float(s.trigger_level))])
