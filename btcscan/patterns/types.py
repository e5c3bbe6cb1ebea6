"""Typed results of the pattern engine: frozen dataclasses, bars and UTC milliseconds.

Every bar index is a row of the scanned candles (0 = first row); every ``*_ms`` time is
that candle's **open** time in UTC milliseconds. ``known_at`` is the candle whose **close**
made the fact knowable: nothing reported with it uses a later candle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

WedgeKind = Literal["falling", "rising"]
WedgeState = Literal["forming", "broke_up", "broke_down", "expired"]
DivergenceKind = Literal["regular_bearish", "regular_bullish", "hidden_bearish", "hidden_bullish"]


@dataclass(frozen=True)
class Pivot:
    """A swing high or low at ``bar``, known from ``confirm_bar`` on."""

    side: Literal["high", "low"]
    bar: int
    time_ms: int
    price: float
    confirm_bar: int
    confirm_ms: int


@dataclass(frozen=True)
class TrendLine:
    """``price(bar) = start_price + slope_per_bar * (bar - start_bar)``."""

    start_bar: int
    start_ms: int
    start_price: float
    end_bar: int
    end_ms: int
    end_price: float
    slope_per_bar: float
    value_at_last: float
    """The line extended to the last closed candle of the scan."""
    touches: int

    def value_at(self, bar: float) -> float:
        return self.start_price + self.slope_per_bar * (bar - self.start_bar)


@dataclass(frozen=True)
class Target:
    """A price level with the rule that produced it."""

    price: float
    rule: str
    kind: Literal["target", "invalidation"] = "target"


@dataclass(frozen=True)
class Wedge:
    """A wedge and its state as of the last closed candle.

    ``known_at`` is the candle at which the pattern first satisfied every rule (the
    confirmation bar of its last pivot); ``state_at`` the candle at which the current
    state became knowable (a close beyond a line, or the apex reached).
    """

    kind: WedgeKind
    upper: TrendLine
    lower: TrendLine
    pivots: tuple[Pivot, ...]
    state: WedgeState
    known_at_bar: int
    known_at_ms: int
    state_at_bar: int
    state_at_ms: int
    apex_bar: float
    height_at_start: float
    targets: tuple[Target, ...]

    @property
    def touches(self) -> int:
        return self.upper.touches + self.lower.touches


@dataclass(frozen=True)
class Divergence:
    """An RSI divergence between two RSI pivots, known at ``known_at`` (later pivot + right)."""

    kind: DivergenceKind
    first_bar: int
    first_ms: int
    first_price: float
    first_rsi: float
    second_bar: int
    second_ms: int
    second_price: float
    second_rsi: float
    known_at_bar: int
    known_at_ms: int


@dataclass(frozen=True)
class Level:
    """A price for the level ladder: ``kind`` is e.g. ``wedge_line``, ``target``,
    ``invalidation``; ``label`` says where the number came from."""

    price: float
    kind: str
    label: str


@dataclass(frozen=True)
class Event:
    """One fact over history, immutable once reported: it appears identically in any scan
    of a longer history. ``kind`` e.g. ``wedge_falling_formed``, ``wedge_falling_broke_up``,
    ``divergence_regular_bearish``."""

    kind: str
    known_at_bar: int
    known_at_ms: int
    summary: str
    levels: tuple[Level, ...] = ()


@dataclass(frozen=True)
class PatternReport:
    """What the engine sees as of the last closed candle, plus every event over history."""

    active_wedges: tuple[Wedge, ...]
    active_divergences: tuple[Divergence, ...]
    events: tuple[Event, ...]
    levels: tuple[Level, ...]
    last_close: float
    last_bar: int
    last_ms: int
    wedges: tuple[Wedge, ...] = ()
    """Every wedge found over history (state as of the last candle)."""
    divergences: tuple[Divergence, ...] = ()
    """Every divergence found over history."""
