"""Read user OHLCV files into the canonical frame: CSV, parquet, and freqtrade's data
directory files (``.json``: a list of ``[ms, open, high, low, close, volume]`` rows, also
gzipped as ``.json.gz``; ``.feather``: columns ``date, open, high, low, close, volume``).

Columns are matched case-insensitively, with common aliases (``timestamp``, ``date``,
``time``, ``open_time``, ``Volume BTC``...). Timestamps may be integers in seconds,
milliseconds, microseconds or nanoseconds (told apart by magnitude, see :data:`_UNITS`; a
file mixing units is refused, naming the rows), ISO-8601 text
(``2024-01-01``, ``2024-01-01T00:00:00Z``...), or native datetimes; naive times are UTC.
A file without a volume column is read with volume 0, and a note says so.
"""

from __future__ import annotations

import glob
import gzip
import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from btcscan.data.schema import COLUMNS, PRICES, SCHEMA, TIME, TIME_DTYPE
from btcscan.errors import DataError

_ALIASES: dict[str, tuple[str, ...]] = {
    TIME: (
        "open_time",
        "timestamp",
        "timestamp_ms_utc",
        "unix",
        "time",
        "date",
        "datetime",
        "ts",
        "open time",
        "opentime",
        "t",
    ),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c", "price"),
    "volume": ("volume", "vol", "v", "base_volume", "volume_base"),
}


def expand_paths(patterns: tuple[str, ...] | list[str]) -> list[Path]:
    """Paths and globs -> existing files, in the order given (globs sorted)."""
    out: list[Path] = []
    for p in patterns:
        if any(ch in p for ch in "*?["):
            hits = sorted(glob.glob(p))
            if not hits:
                raise DataError(f"{p}: no file matches this pattern")
            out.extend(Path(h) for h in hits)
        else:
            path = Path(p)
            if not path.is_file():
                raise DataError(f"{p}: no such file")
            out.append(path)
    return out


def _pick_columns(columns: list[str], where: str) -> dict[str, str]:
    lower = {c.strip().lower(): c for c in columns}
    chosen: dict[str, str] = {}
    for canon, names in _ALIASES.items():
        for n in names:
            if n in lower:
                chosen[canon] = lower[n]
                break
        else:
            if canon == "volume":  # e.g. CryptoDataDownload's "Volume BTC"
                vols = [c for k, c in lower.items() if k.startswith("volume")]
                if vols:
                    chosen[canon] = vols[0]
    missing = [c for c in COLUMNS if c not in chosen and c != "volume"]  # volume: optional
    if missing:
        raise DataError(
            f"{where}: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(columns) or 'none'}); "
            "expected time, open, high, low, close (and optionally volume)"
        )
    return chosen


#: integer timestamps: (name, milliseconds per unit). Each value is read in the coarsest unit
#: that puts it before the year 10000 (the last year a date can be written), so seconds run
#: to 253,402,300,799, milliseconds 1000 times further, and so on: milliseconds of any year
#: up to 9999 are milliseconds (a fixed 1e14 cut read those after 5138 as microseconds).
_UNITS = (("seconds", 1000.0), ("milliseconds", 1.0), ("microseconds", 1e-3),
          ("nanoseconds", 1e-6))
_YEAR_10000_S = 253_402_300_800


def _unit_index(magnitude: pl.Series) -> pl.Series:
    """The index in :data:`_UNITS` of each timestamp's unit, told by its magnitude."""
    return pl.select(
        pl.when(pl.lit(magnitude) < _YEAR_10000_S).then(0)
        .when(pl.lit(magnitude) < _YEAR_10000_S * 1e3).then(1)
        .when(pl.lit(magnitude) < _YEAR_10000_S * 1e6).then(2)
        .otherwise(3).alias("unit")
    )["unit"]


def _mixed_units(unit: pl.Series, where: str, limit: int = 5) -> str:
    """One line naming the rows whose unit is not the file's most common one."""
    counts = unit.value_counts(sort=True)
    main = int(counts["unit"][0])
    odd = (unit != main).arg_true()
    rows = ", ".join(str(int(i) + 1) for i in odd.head(limit))
    more = f" and {odd.len() - limit} more" if odd.len() > limit else ""
    kinds = sorted({_UNITS[int(u)][0] for u in unit.gather(odd).unique()})
    return (f"{where}: timestamps mix units: most are {_UNITS[main][0]}, but row(s) {rows}"
            f"{more} look like {' or '.join(kinds)}; write every timestamp in one unit "
            "(or as ISO-8601)")


def _to_time(s: pl.Series, where: str) -> pl.Series:
    if s.dtype == TIME_DTYPE:  # already UTC milliseconds (btcscan's own parquet files)
        return s
    if s.dtype == pl.Datetime or s.dtype == pl.Date:
        if s.dtype == pl.Date:
            s = s.cast(pl.Datetime("ms"))
        if getattr(s.dtype, "time_zone", None) is None:
            return s.dt.replace_time_zone("UTC").dt.cast_time_unit("ms")
        return s.dt.convert_time_zone("UTC").dt.cast_time_unit("ms")
    if s.dtype.is_numeric():
        if s.null_count():
            raise DataError(f"{where}: row {int(s.is_null().arg_max()) + 1} has no timestamp")
        v = s.cast(pl.Float64)
        unit = _unit_index(v.abs())
        used = unit.unique().sort().to_list()
        if len(used) > 1:
            raise DataError(_mixed_units(unit, where))
        return (v * _UNITS[used[0]][1]).round(0).cast(pl.Int64).cast(TIME_DTYPE)
    if s.dtype == pl.String:
        txt = s.str.strip_chars()
        # numbers stored as text (e.g. a CSV with quoted epochs)
        as_num = txt.cast(pl.Float64, strict=False)
        if as_num.null_count() == txt.null_count():
            return _to_time(as_num, where)
        parsed = None
        for fn in (
            lambda x: x.str.to_datetime(time_zone="UTC", time_unit="ms", strict=True),
            lambda x: x.str.to_datetime(time_unit="ms", strict=True).dt.replace_time_zone("UTC"),
            lambda x: (
                x.str.to_date(strict=True).cast(pl.Datetime("ms")).dt.replace_time_zone("UTC")
            ),
        ):
            try:
                parsed = fn(txt)
                break
            except Exception:  # noqa: BLE001 - polars raises several types; try the next form
                continue
        if parsed is None or parsed.null_count() > txt.null_count():
            bad = txt.filter(txt.is_not_null()).head(1).to_list()
            raise DataError(
                f"{where}: cannot read timestamp {bad[0] if bad else ''!r}: use epoch seconds/ms "
                "or ISO-8601 like 2024-01-31T00:00:00Z"
            )
        return parsed.dt.convert_time_zone("UTC").dt.cast_time_unit("ms")
    raise DataError(f"{where}: the time column has unsupported type {s.dtype}")


#: A note on every series read from a file without volume.
NO_VOLUME = "no volume column in {where}: volume is 0 (the chart's volume panel stays empty)"


def _read_freqtrade_json(path: Path) -> pl.DataFrame:
    """freqtrade's ``.json`` / ``.json.gz`` candles: ``[[ms, o, h, l, c, v], ...]``."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        rows = json.load(fh)
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) >= 6
                                             for r in rows):
        raise DataError(f"{path}: expected freqtrade's JSON candles, a list of "
                        "[timestamp_ms, open, high, low, close, volume] rows")
    cols = list(zip(*(r[:6] for r in rows), strict=True)) if rows else [()] * 6
    return pl.DataFrame({name: list(col) for name, col in zip(
        ("date", "open", "high", "low", "close", "volume"), cols, strict=True)},
        schema={"date": pl.Int64, **dict.fromkeys(("open", "high", "low", "close",
                                                   "volume"), pl.Float64)}, strict=False)


def _read_raw(path: Path) -> pl.DataFrame:
    name = path.name.lower()
    if path.suffix.lower() in (".parquet", ".pq"):
        return pl.read_parquet(path)
    if path.suffix.lower() in (".feather", ".arrow", ".ipc"):
        return pl.read_ipc(path)
    if name.endswith((".json", ".json.gz")):
        return _read_freqtrade_json(path)
    return pl.read_csv(path, infer_schema_length=0, comment_prefix=None,
                       truncate_ragged_lines=False)


def read_parquet_many(paths: Sequence[Path]) -> dict[Path, pl.DataFrame]:
    """The tables of the parquet files among ``paths``, read in one parallel scan (about
    twice as fast as file by file for small files) when they have the same columns; {}
    when they cannot be (each file is then read alone, and says what is wrong with it)."""
    pq = [p for p in paths if p.suffix.lower() in (".parquet", ".pq")]
    if len(pq) < 2:
        return {}
    try:
        both = pl.scan_parquet([str(p) for p in pq], include_file_paths=_PATH,
                               hive_partitioning=False).collect()
    except Exception:  # noqa: BLE001 - an odd or bad file: each is read alone
        return {}
    parts = both.partition_by(_PATH, maintain_order=True, include_key=False, as_dict=True)
    by_name = {key[0]: frame for key, frame in parts.items()}
    return {p: by_name[str(p)] for p in pq if str(p) in by_name}


_PATH = "__btcscan_path"  # the column a multi-file scan names each row's file in


def read_ohlcv(path: Path, raw: pl.DataFrame | None = None) -> tuple[pl.DataFrame, list[str]]:
    """Read one CSV / parquet / freqtrade file into the canonical columns (not yet
    validated), and the notes on what was read (e.g. no volume column). ``raw``: the
    file's table when already read (:func:`read_parquet_many`)."""
    where = str(path)
    try:
        raw = _read_raw(path) if raw is None else raw
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data problem here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{where}: cannot read this file as CSV, parquet, feather or freqtrade JSON "
            f"({first[:160]})"
        ) from exc
    if raw.height == 0:
        raise DataError(f"{where}: the file has no rows")
    if raw.schema == SCHEMA:  # btcscan's own columns and types (its cache's layout)
        return raw, []
    cols = _pick_columns(raw.columns, where)
    notes = [] if "volume" in cols else [NO_VOLUME.format(where=where)]
    out = {TIME: _to_time(raw[cols[TIME]], where)}
    for c in (*PRICES, "volume"):
        if c not in cols:
            out[c] = pl.Series(c, [0.0] * raw.height, dtype=pl.Float64)
            continue
        s = raw[cols[c]]
        if not (s.dtype.is_numeric() or s.dtype in (pl.String, pl.Null)):
            raise DataError(f"{where}: column {cols[c]} holds {s.dtype} values, not numbers; "
                            "each row needs one number per column")
        if s.dtype == pl.String:
            num = s.str.strip_chars().str.replace_all(",", "").cast(pl.Float64, strict=False)
            bad = num.is_null() & s.is_not_null()
            if bad.any():
                i = int(bad.arg_max())
                raise DataError(f"{where}: row {i + 1}, column {cols[c]}: {s[i]!r} is not a number")
            s = num
        out[c] = s.cast(pl.Float64, strict=False)
    return pl.DataFrame(out, schema=SCHEMA), notes


def read_ohlcv_file(path: Path) -> pl.DataFrame:
    """:func:`read_ohlcv` without its notes."""
    return read_ohlcv(path)[0]
