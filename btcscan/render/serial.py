"""Machine views of a scan: JSON (one document) and the conversion they share."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime
from enum import Enum
from typing import Any, TextIO

from btcscan.models import ScanResult


def iso(dt: datetime) -> str:
    """UTC datetime -> ``2025-06-30T00:00:00Z``."""
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, tuples, datetimes and floats -> JSON-ready values (NaN -> None)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        for name in getattr(type(obj), "__json_properties__", ()):  # derived fields, e.g. labels
            out[name] = to_jsonable(getattr(obj, name))
        return out
    if isinstance(obj, datetime):
        return iso(obj)
    if isinstance(obj, float):
        return None if not math.isfinite(obj) else obj
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj


def result_dict(result: ScanResult) -> dict:
    """The JSON document for a scan (``schema_version`` first)."""
    d = to_jsonable(result)
    return {"schema_version": d.pop("schema_version"), **d}


def write_json(result: ScanResult, out: TextIO) -> None:
    json.dump(result_dict(result), out, indent=2, allow_nan=False)
    out.write("\n")
