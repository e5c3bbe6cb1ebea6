"""The canonical candle frame, its validation, and the :class:`Candles` container.

Canonical columns (:data:`COLUMNS`): ``open_time`` (``Datetime("ms", "UTC")``, the candle's
**open** time), ``open``, ``high``, ``low``, ``close``, ``volume`` (``Float64``, volume in
base units). Rows are sorted by ``open_time`` and unique. Every source (bundled sample, user
file, exchange, cache) goes through :func:`normalise` before anything else sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from btcscan.errors import DataError
from btcscan.timeframes import Timeframe

TIME = "open_time"
PRICES = ("open", "high", "low", "close")
COLUMNS = (TIME, *PRICES, "volume")
TIME_DTYPE = pl.Datetime("ms", "UTC")
SCHEMA = {TIME: TIME_DTYPE, **{c: pl.Float64 for c in (*PRICES, "volume")}}


@dataclass(frozen=True)
class Source:
    """Where a series came from; ``label`` is printed with every output of the series."""

    kind: str  # "sample" | "file" | "exchange" | "cache"
    symbol: str  # e.g. "BTC/USD"
    exchange: str | None = None  # e.g. "bitstamp"
    path: str | None = None  # the file, for kind == "file"
    detail: str | None = None  # e.g. "bundled sample, Bitstamp daily 2011-08-18..2026-04-18"

    __json_properties__ = ("label",)

    @property
    def label(self) -> str:
        if self.kind == "file":
            return f"{self.symbol} (file {self.path})"
        where = self.exchange or self.kind
        return f"{where}:{self.symbol}" + (" (bundled sample)" if self.kind == "sample" else "")


@dataclass(frozen=True)
class Candles:
    """Validated candles of one market at one timeframe, plus what was done to them."""

    frame: pl.DataFrame
    timeframe: Timeframe
    source: Source
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: problems repaired on load (unsorted rows, duplicates): shown as warnings
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def with_notes(self, *notes: str) -> Candles:
        return replace(self, notes=self.notes + tuple(n for n in notes if n))

    def arrays(self) -> dict[str, np.ndarray]:
        """Columns as contiguous numpy arrays (``open_time`` as int64 ms); computed once per
        instance (a scan asks three times), a new dict each call over the same arrays."""
        memo = self.__dict__.get("_arrays")
        if memo is None:
            memo = {c: self.frame[c].to_numpy().astype(np.float64, copy=False) for c in COLUMNS[1:]}
            memo[TIME] = epoch_ms(self.frame[TIME])
            object.__setattr__(self, "_arrays", memo)  # frozen: a cache, not state
        return dict(memo)

    def __len__(self) -> int:
        return self.frame.height


def epoch_ms(s: pl.Series) -> np.ndarray:
    """Open times as int64 UTC milliseconds: a zero-copy view for the canonical
    ``Datetime("ms", "UTC")`` column (microseconds, where ``dt.epoch`` costs ~0.1 ms)."""
    if s.dtype == TIME_DTYPE and not s.null_count():
        return s.to_numpy().view(np.int64)
    return s.dt.epoch("ms").to_numpy()


def _fmt_time(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def normalise(
    df: pl.DataFrame, where: str, *, repair: bool = True
) -> tuple[pl.DataFrame, list[str]]:
    """Validate a frame with the canonical columns and return it sorted, plus warnings.

    Repairs (with a warning each) when ``repair``: rows out of order are sorted; exact
    duplicate rows are dropped. Raises :class:`DataError` (one line, naming ``where``) on
    missing or non-finite numbers, negative or zero prices, high/low inconsistent with
    open/close, or the same open time with different values.
    """
    notes: list[str] = []
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {', '.join(missing)}")
    if df.columns != list(COLUMNS):
        df = df.select(COLUMNS)
    if df.height == 0:
        raise DataError(f"{where}: no candles")
    if _valid_sorted_unique(df):  # the usual case, checked in numpy in microseconds
        return df, notes
    nulls = df.select(pl.any_horizontal(pl.col(COLUMNS).is_null()).arg_max()).item()
    if df.select(pl.any_horizontal(pl.col(COLUMNS).is_null()).any()).item():
        raise DataError(f"{where}: row {nulls + 1} has an empty or non-numeric value")
    bad = df.select(pl.any_horizontal([~pl.col(c).is_finite() for c in COLUMNS[1:]]).alias("bad"))[
        "bad"
    ]
    if bad.any():
        raise DataError(
            f"{where}: row {int(bad.arg_max()) + 1} has a non-finite number (NaN or inf)"
        )
    nonpos = df.select(pl.any_horizontal([pl.col(c) <= 0 for c in PRICES]).alias("x"))["x"]
    if nonpos.any():
        i = int(nonpos.arg_max())
        raise DataError(
            f"{where}: row {i + 1} ({_fmt_time(df[TIME].dt.epoch('ms')[i])}) "
            "has a zero or negative price"
        )
    if (df["volume"] < 0).any():
        i = int((df["volume"] < 0).arg_max())
        raise DataError(f"{where}: row {i + 1} has a negative volume")
    incons = df.select(
        (
            (pl.col("high") < pl.max_horizontal("open", "close", "low"))
            | (pl.col("low") > pl.min_horizontal("open", "close"))
        ).alias("x")
    )["x"]
    if incons.any():
        i = int(incons.arg_max())
        raise DataError(
            f"{where}: row {i + 1} ({_fmt_time(df[TIME].dt.epoch('ms')[i])}) has high below "
            "open/close or low above open/close"
        )
    if not df[TIME].is_sorted():
        if not repair:
            raise DataError(f"{where}: timestamps are not in ascending order")
        notes.append(f"{where}: rows were not in time order; sorted them")
        df = df.sort(TIME, maintain_order=True)
    if df[TIME].is_duplicated().any():
        before = df.height
        df = df.unique(maintain_order=True)
        if df[TIME].is_duplicated().any():
            t = df.filter(df[TIME].is_duplicated())[TIME].dt.epoch("ms")[0]
            raise DataError(
                f"{where}: two different candles share the open time {_fmt_time(t)}; "
                "remove one of them"
            )
        if not repair:
            raise DataError(f"{where}: duplicate rows")
        notes.append(f"{where}: dropped {before - df.height} duplicate row(s)")
    return df, notes


def _valid_sorted_unique(df: pl.DataFrame, starts: np.ndarray | None = None) -> bool:
    """True when every check of :func:`normalise` passes and nothing needs repair (the
    slow path then finds and words the first problem). ``starts``: rows where another
    series begins (several files read as one frame, each checked as :func:`normalise` would
    check it alone: open times rise within a file, not across the boundary)."""
    if any(df[c].null_count() for c in COLUMNS):
        return False
    o, h, lo, c, v = (df[k].to_numpy() for k in (*PRICES, "volume"))
    t = epoch_ms(df[TIME])
    with np.errstate(invalid="ignore"):
        ok = (
            np.isfinite(o).all()
            and np.isfinite(h).all()
            and np.isfinite(lo).all()
            and np.isfinite(c).all()
            and np.isfinite(v).all()
            and (o > 0).all()
            and (h > 0).all()
            and (lo > 0).all()
            and (c > 0).all()
            and (v >= 0).all()
            and not (h < np.maximum(np.maximum(o, c), lo)).any()
            and not (lo > np.minimum(o, c)).any()
        )
    if not ok:
        return False
    rising = np.diff(t) > 0
    if starts is not None and starts.size:
        rising[starts[(starts > 0) & (starts < t.size)] - 1] = True
    return bool(rising.all())


def all_valid(df: pl.DataFrame, starts: np.ndarray) -> bool:
    """Several canonical frames stacked into ``df`` (the ``i``-th beginning at row
    ``starts[i]``): True when :func:`normalise` would return each one unchanged with no
    warning (canonical columns, valid, sorted, unique), checked in one pass."""
    return df.columns == list(COLUMNS) and df.height > 0 and _valid_sorted_unique(df, starts)


def gaps(open_ms: np.ndarray, step_ms: int, limit: int = 3) -> tuple[int, list[str]]:
    """Count missing candles on a fixed grid; returns (missing count, first few as text)."""
    if open_ms.size < 2:
        return 0, []
    d = open_ms[1:] - open_ms[:-1]
    if d.max() <= step_ms:  # the usual case: no step beyond the grid's
        return 0, []
    idx = np.nonzero(d > step_ms)[0]
    missing = int(((d[idx] // step_ms) - 1).sum())
    first = [
        f"{_fmt_time(int(open_ms[i] + step_ms))}..{_fmt_time(int(open_ms[i + 1] - step_ms))}"
        for i in idx[:limit]
    ]
    return missing, first
