"""Typed scan results. Renderers only read these; the JSON schema mirrors them.

Prices are in the quote currency of the market, percentages are plain percent
(``-12.5`` means 12.5 % below), times are UTC datetimes (ISO-8601 in JSON).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from btcscan.data.schema import Source

#: Bumped when a JSON field changes meaning or disappears (additions bump the minor part).
SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class CandleRef:
    """One candle: its open time, the time it closed, and its close."""

    open_time: datetime
    close_time: datetime
    close: float


@dataclass(frozen=True)
class PricePoint:
    """A price observed at a time, and where it came from."""

    price: float
    time: datetime
    method: str


@dataclass(frozen=True)
class Indicator:
    """An indicator value on the last closed candle, with how it was computed."""

    name: str  # "RSI 14"
    value: float | None  # None while warming up
    method: str  # "Wilder RSI(14) on weekly closes (TA-Lib convention)"


@dataclass(frozen=True)
class SmaState:
    """Where the last closed candle's close stands against an SMA."""

    period: int
    value: float | None
    state: str  # above | below | crossed_below | crossed_above | warming_up
    closes: int  # consecutive closes on the current side (1 when it just crossed)
    distance_pct: float | None  # (close / sma - 1) * 100
    latest_side: str | None  # where the latest (possibly unclosed) price stands: above | below
    method: str


@dataclass(frozen=True)
class Level:
    """A price level on the ladder around the latest price."""

    price: float
    kind: str  # sma | round | ath | wedge_line | target | invalidation | power_law | ...
    label: str  # what a trader reads: "SMA 50 (weekly closes)"
    source: str  # how the number was produced
    distance_pct: float  # (level / latest price - 1) * 100
    side: str  # "above" | "below"


@dataclass(frozen=True)
class SeriesReport:
    """Everything the scan says about one market at one timeframe, as of one time."""

    source: Source
    timeframe: str
    asof: datetime  # the scan's point in time: nothing after it was used
    candles: int  # closed candles of the timeframe used
    first_candle: datetime
    last_closed: CandleRef  # last closed candle of the timeframe
    latest: PricePoint  # last close of the finest data available (may be unconfirmed)
    ath: PricePoint  # highest high up to asof
    drawdown_pct: float  # latest price vs ATH
    change_7d_pct: float | None
    change_30d_pct: float | None
    rsi: Indicator
    atr: Indicator
    smas: tuple[SmaState, ...]
    levels: tuple[Level, ...]  # nearest first
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    patterns: Any | None = None  # btcscan.patterns.types.PatternReport, when detectors ran
    context: Any | None = None  # long-run context (power law, cycles), when computed


@dataclass(frozen=True)
class ScanResult:
    """A whole scan: one report per series, plus the failures of a multi-market run."""

    series: tuple[SeriesReport, ...]
    errors: tuple[dict, ...] = field(default_factory=tuple)  # {"source": ..., "error": ...}
    schema_version: str = SCHEMA_VERSION
