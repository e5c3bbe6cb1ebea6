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
SCHEMA_VERSION = "1.3"


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
    """A price level on the ladder around the latest price.

    A ladder row is one group of nearby levels (:func:`btcscan.analysis.levels.ladder`
    states the rule): the row's own fields are its headline level, ``grouped`` the others
    merged into it, each with its own price and source."""

    price: float
    kind: str  # sma | round | ath | swing_high | swing_low | prev_week_high | ... | power_law
    label: str  # what a trader reads: "SMA 50 (weekly closes)"
    source: str  # how the number was produced
    distance_pct: float  # (level / latest price - 1) * 100
    side: str  # "above" | "below"
    time: datetime | None = None  # when the market made it (a swing's bar, a close); else None
    grouped: tuple[Level, ...] = ()  # other levels within the grouping distance of this row


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
    stats: Any | None = None  # btcscan.stats.types.ScanStats: walk-forward lines (issue #7)


@dataclass(frozen=True)
class ScanResult:
    """A whole scan: one report per series, plus the failures of a multi-market run."""

    series: tuple[SeriesReport, ...]
    errors: tuple[dict, ...] = field(default_factory=tuple)  # {"source": ..., "error": ...}
    schema_version: str = SCHEMA_VERSION


# --- long-run context (power law, declines); filled into SeriesReport.context -----------------


@dataclass(frozen=True)
class PowerLawBand:
    """A band around a power-law fair value: ``price = fair * multiple``."""

    label: str  # "+1 sigma", "floor (0.42x fair)"
    multiple: float  # 10 ** (k * sigma) for a sigma band, or the published multiple
    price: float


@dataclass(frozen=True)
class PowerLaw:
    """log10(price) = log10_a + exponent * log10(days since 2009-01-03), at the scan date.

    ``sigma`` and ``r2`` exist for a fit on the series (log10 units); a published set has
    only the bands its authors publish."""

    label: str  # "fit on this series" | the published set's name
    source: str  # how the coefficients were obtained, with the points used
    log10_a: float
    exponent: float
    days: float  # days since 2009-01-03 00:00 UTC at the scan time
    fair_value: float
    price_to_fair: float  # latest price / fair value
    bands: tuple[PowerLawBand, ...]
    sigma: float | None = None  # std of the log10 residuals of the fit
    residual_sigmas: float | None = None  # latest price's log10 residual in sigmas
    r2: float | None = None
    points: int | None = None
    first: datetime | None = None  # first and last candle of the fit
    last: datetime | None = None


@dataclass(frozen=True)
class Decline:
    """A fall of at least the rule's percentage from an all-time closing high."""

    peak: PricePoint
    trough: PricePoint  # lowest close before the recovery (or so far, when ongoing)
    depth_pct: float  # trough / peak - 1, in percent (negative)
    days_to_trough: int
    recovered: datetime | None  # first close above the peak, None when still below it
    days_to_recover: int | None
    ongoing: bool


@dataclass(frozen=True)
class Drawdown:
    """Where the latest close stands against the highest close so far."""

    peak: PricePoint
    latest: PricePoint
    pct: float  # latest / peak - 1, in percent (0 at a new high)
    days_since_peak: int
    lowest_since_peak: PricePoint


@dataclass(frozen=True)
class ContextMetric:
    """An outside daily series on the scan day (``--sentiment``, ``--context-file``), point
    in time: the latest value known by the scan time, and its change over 30 days."""

    name: str  # "fear_greed", or the NAME of --context-file NAME=PATH
    label: str  # what a reader sees: "Crypto Fear & Greed Index"
    value: float | None  # None when nothing is known by the scan time
    time: datetime | None  # the day (or instant) the value is for
    classification: str | None  # the source's own word for it ("Extreme Fear"), if any
    change_30d: float | None  # value minus the latest value known 30 days earlier
    change_30d_pct: float | None  # the same in percent of that earlier value
    source: str  # where the numbers come from and the point-in-time rule
    note: str | None = None  # e.g. "not refreshed: offline", "no value 30 days earlier"


@dataclass(frozen=True)
class LongRunContext:
    """Long-run context of a series, point in time: only closes up to the scan time are used."""

    power_law: tuple[PowerLaw, ...]  # empty unless a BTC market (or --power-law); fit first
    drawdown: Drawdown
    declines: tuple[Decline, ...]  # oldest first; the last may be ongoing
    decline_rule: str  # the stated rule that found them
    notes: tuple[str, ...] = ()
    metrics: tuple[ContextMetric, ...] = ()  # --sentiment, --context-file (empty otherwise)


# --- signals and --fail-on results (btcscan.alerts) ------------------------------------------


@dataclass(frozen=True)
class Signal:
    """One thing that happened on a closed candle, worth an alert.

    ``key`` identifies it across runs (``--new-only`` remembers keys): the same fact seen
    by a later scan has the same key; a new candle's fact has a new one."""

    market: str  # the source label, e.g. "bitstamp:BTC/USD (bundled sample)"
    symbol: str
    timeframe: str
    kind: str  # wedge-breakout | wedge-breakdown | wedge-formed | bearish-divergence | ...
    time: datetime  # open time of the closed candle that made it knowable
    price: float | None  # that candle's close (None only if the candle has no close)
    detail: str
    key: str
    trigger_level: float | None = None  # the level behind it: the line or SMA crossed, the
    # wedge line it should break (formed), the divergence's second pivot price


@dataclass(frozen=True)
class ConditionResult:
    """A ``--fail-on`` condition judged on one series."""

    condition: str  # as written, e.g. "below-sma:200"
    market: str
    holds: bool
    detail: str  # the numbers behind the verdict
