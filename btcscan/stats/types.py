"""Typed results of the walk-forward statistics (frozen dataclasses; renderers read them).

Bars are rows of the scored candles (0 = first); ``*_ms`` are candle open times in UTC ms;
percentages are plain percent of the entry price, signed so that negative is against the
signal (``mae_pct``) and positive with it (``mfe_pct``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

from btcscan.patterns.types import utc

Outcome = Literal["open", "reached_target", "invalidated", "expired"]


@dataclass(frozen=True)
class ScoredTarget:
    """One target of an event: the level, the rule that produced it, and when it was hit."""

    price: float
    rule: str
    """Short rule name, e.g. ``measured move``; the full wording is in ``rule_text``."""
    rule_text: str
    reached_bar: int | None
    """First later candle whose high (long) / low (short) touched it, before any
    invalidation and within the horizon; None if never."""
    bars_to_reach: int | None


@dataclass(frozen=True)
class ScoredEvent:
    """A past event and its outcome, everything needed to audit one number."""

    __json_properties__: ClassVar[tuple[str, ...]] = ("known_at",)

    kind: str
    """Stat kind, e.g. ``wedge_falling_broke_down``, ``divergence_regular_bearish``,
    ``sma50_break`` (see :data:`btcscan.stats.rules.KIND_LABELS`)."""
    direction: Literal["long", "short"]
    known_at_bar: int
    """Entry candle: the one whose close made the event knowable; the entry is its close."""
    known_at_ms: int
    entry: float
    targets: tuple[ScoredTarget, ...]
    invalidation: float | None
    invalidation_rule: str
    outcome: Outcome
    outcome_bar: int | None
    """Candle of the outcome (first target, invalidation, or horizon end); None when open."""
    bars_to_outcome: int | None
    outcome_ms: int | None
    """Open time of the outcome candle (UTC ms); None when open."""
    mae_pct: float
    """Worst move against the signal until resolution, in % of the entry (<= 0)."""
    mfe_pct: float
    """Best move with the signal until resolution (>= 0); the invalidating candle's
    favourable move is not counted (its adverse move is, in ``mae_pct``)."""
    failed: bool
    """Bulkowski failure: less than 5 % beyond the entry before a close back through the
    entry or the invalidation, judged until the event resolves (the invalidating candle's
    favourable move not counted)."""
    detail: str

    @property
    def known_at(self) -> datetime:
        return utc(self.known_at_ms)


@dataclass(frozen=True)
class TargetStats:
    """How many resolved events of a kind reached one target rule, and how fast."""

    rule: str
    events_with_target: int
    reached: int
    median_bars: float | None


@dataclass(frozen=True)
class PublishedFigure:
    """One published percentage, e.g. ("break-even failure", 29.0)."""

    what: str
    pct: float


@dataclass(frozen=True)
class BulkowskiFigure:
    """Published figures for the same pattern on US stocks, with their source."""

    pattern: str
    figures: tuple[PublishedFigure, ...]
    source: str


@dataclass(frozen=True)
class ChanceTest:
    """One measure of a kind beside the same measure for random entries on the same series
    and direction (circular shifts of the event dates; :mod:`btcscan.stats.chance`).
    Percentages are plain percent."""

    measure: str
    """``reached_target``, ``median_return_pct`` or ``hit_rate``."""
    label: str
    events: int
    """Events measured: those whose horizon lies inside the data."""
    value: float | None
    random: float | None
    """Mean of the measure over the shifted (random) entries."""
    p_value: float | None
    """Two-sided, uncorrected; None when there are too few events to test."""
    p_holm: float | None
    """Holm-adjusted over the tests of the table (None outside a table, e.g. in a scan)."""
    verdict: str
    """``edge shown``, ``worse than random``, ``no edge shown``, ``no events`` (no test);
    from ``p_holm`` in a table, from ``p_value`` alone (one test) where there is no table
    (a scan's line)."""


@dataclass(frozen=True)
class ChanceFamily:
    """The tests of one table against chance, and the correction applied over them."""

    tests: int
    significant: int
    alpha: float
    correction: str
    shifts: int
    seed: int
    method: str


@dataclass(frozen=True)
class KindStats:
    """Aggregate of one kind of event. Counts other than ``events`` and ``open`` are over
    the resolved events (target, invalidation or horizon reached inside the data)."""

    kind: str
    label: str
    events: int
    open: int
    """Events whose horizon runs past the data and are unresolved: counted apart."""
    resolved: int
    reached_first_target: int
    invalidated: int
    expired: int
    failed: int
    targets: tuple[TargetStats, ...]
    median_mae_pct: float | None
    worst_mae_pct: float | None
    median_mfe_pct: float | None
    median_bars_to_target: float | None
    """Median candles from entry to the first target, over the events that reached it."""
    markets: int = 1
    bulkowski: BulkowskiFigure | None = None
    chance: tuple[ChanceTest, ...] = ()
    """Each measure against random entries (empty where not computed)."""


@dataclass(frozen=True)
class SeriesStats:
    """Walk-forward statistics of one market at one timeframe, point in time."""

    __json_properties__: ClassVar[tuple[str, ...]] = ("first_candle", "last_candle")

    market: str
    symbol: str
    timeframe: str
    candles: int
    first_ms: int
    last_ms: int
    horizon_bars: int
    source: str
    """What a user reads next to each number: "btcscan walk-forward on <market> <tf> since
    <first date>"."""
    kinds: tuple[KindStats, ...]
    events: tuple[ScoredEvent, ...]
    chance: ChanceFamily | None = None
    """The table's tests against chance (how many, the correction); None if not run."""

    @property
    def first_candle(self) -> datetime:
        return utc(self.first_ms)

    @property
    def last_candle(self) -> datetime:
        return utc(self.last_ms)


@dataclass(frozen=True)
class StatsResult:
    """``btcscan stats``: per market, and pooled per kind over every market."""

    series: tuple[SeriesStats, ...]
    pooled: tuple[KindStats, ...]
    rules: tuple[str, ...]
    errors: tuple[dict, ...] = ()
    pooled_chance: ChanceFamily | None = None
    schema_version: str = "1.1"


@dataclass(frozen=True)
class SignalStatsLine:
    """One line beside an active signal of a scan: the walk-forward figure for the same
    kind on the same market and timeframe, and Bulkowski's published one."""

    signal_kind: str
    stat_kind: str
    text: str
    source: str
    walk_forward: KindStats
    bulkowski_text: str | None
    bulkowski: BulkowskiFigure | None
    chance_text: str | None = None
    """One line: earlier events on this market, how many reached the target vs random
    entries, the (single, uncorrected) p-value and what it shows."""


@dataclass(frozen=True)
class ScanStats:
    """Walk-forward figures carried by a scan report (``SeriesReport.stats``): one line per
    active signal, computed once per scanned series over the same candles."""

    source: str
    horizon_bars: int
    events_scored: int
    lines: tuple[SignalStatsLine, ...]
