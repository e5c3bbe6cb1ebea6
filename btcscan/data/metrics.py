"""Outside daily series that give a scan context: the Fear & Greed Index
(:mod:`btcscan.data.sentiment`) and files the user brings (``--context-file NAME=PATH``:
a dated CSV or parquet of any daily metric, e.g. an export of long-term-holder supply).

A :class:`MetricSeries` holds the values with the instant each became known
(``known_ms``); :func:`btcscan.analysis.context.metric_at` reads it point in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from btcscan.data.files import _ALIASES, _to_time
from btcscan.data.schema import TIME
from btcscan.errors import DataError, UsageError

DAY_MS = 86_400_000


@dataclass(frozen=True)
class MetricSeries:
    """One daily metric: values in time order, each with the instant it became known."""

    name: str
    label: str
    source: str  # where the numbers come from and the point-in-time rule
    time_ms: np.ndarray  # int64 UTC ms: the day (or instant) each value is for
    known_ms: np.ndarray  # int64 UTC ms: when each value was known (>= time_ms)
    values: np.ndarray  # float64
    classes: tuple[str, ...] | None = None  # the source's word for each value, if any
    note: str | None = None  # e.g. "offline: from the cache, not refreshed"


def parse_context_file(text: str) -> tuple[str, Path]:
    """``NAME=PATH`` -> (name, path); raises :class:`UsageError` on anything else."""
    name, sep, path = text.partition("=")
    name = name.strip()
    if not sep or not name or not path.strip() or not name.replace("_", "").replace(
            "-", "").isalnum():
        raise UsageError(f"--context-file {text!r}: use NAME=PATH, e.g. lth_supply=lth.csv "
                         "(NAME: letters, digits, - and _)")
    return name, Path(path.strip())


def read_metric_file(name: str, path: Path) -> MetricSeries:
    """A dated CSV or parquet of one daily metric: a date column (``date``, ``time``,
    ``timestamp``... as for candles) and the value column (named ``value``, or NAME, or the
    only other column). A row dated D counts as known at the end of D (a daily figure is
    computed from the whole day); rows are sorted, and a date given twice is an error."""
    where = str(path)
    if not path.is_file():
        raise DataError(f"--context-file {name}={path}: no such file")
    try:
        raw = (pl.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq")
               else pl.read_csv(path, infer_schema_length=0))
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data problem here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{where}: cannot read this file as CSV or parquet ({first[:160]})"
                        ) from exc
    if raw.height == 0:
        raise DataError(f"{where}: the file has no rows")
    lower = {c.strip().lower(): c for c in raw.columns}
    tcol = next((lower[a] for a in _ALIASES[TIME] if a in lower), None)
    if tcol is None:
        raise DataError(f"{where}: no date column (found: {', '.join(raw.columns)}); name it "
                        "date, time or timestamp")
    rest = [c for c in raw.columns if c != tcol]
    vcol = (lower.get("value") or lower.get(name.lower())
            or (rest[0] if len(rest) == 1 else None))
    if vcol is None:
        raise DataError(f"{where}: which column is {name}? found {', '.join(rest) or 'none'}; "
                        f"name it 'value' or '{name}', or keep only the date and one column")
    t = _to_time(raw[tcol], where)
    v = raw[vcol]
    if v.dtype == pl.String:
        v = v.str.strip_chars().str.replace_all(",", "").cast(pl.Float64, strict=False)
    v = v.cast(pl.Float64, strict=False)
    frame = pl.DataFrame({"t": t, "v": v}).drop_nulls().sort("t")
    frame = frame.filter(pl.col("v").is_finite())
    if frame.height == 0:
        raise DataError(f"{where}: column {vcol} has no number")
    if frame["t"].is_duplicated().any():
        day = frame.filter(frame["t"].is_duplicated())["t"].dt.strftime("%Y-%m-%d")[0]
        raise DataError(f"{where}: the date {day} appears twice; keep one value per day")
    tm = frame["t"].dt.epoch("ms").to_numpy().astype(np.int64)
    first, last = (frame["t"].dt.strftime("%Y-%m-%d")[i] for i in (0, -1))
    return MetricSeries(
        name=name, label=name,
        source=(f"column {vcol} of {where} ({frame.height} rows {first}..{last}); a row dated "
                "D counts from the end of D"),
        time_ms=tm, known_ms=tm + DAY_MS, values=frame["v"].to_numpy().astype(np.float64))
