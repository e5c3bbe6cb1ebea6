"""Typed results of the pattern engine: frozen dataclasses, bars and UTC milliseconds.

Every bar index is a row of the scanned candles (0 = first row); every ``*_ms`` time is
that candle's **open** time in UTC milliseconds. ``known_at`` is the candle whose **close**
made the fact knowable: nothing reported with it uses a later candle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal


def utc(ms: int) -> datetime:
    """UTC milliseconds -> aware datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class Deferred:
    """A value not computed yet: ``fn(*args)``, for a :class:`lazy_field`. Picklable when
    ``fn`` and ``args`` are."""

    __slots__ = ("fn", "args")

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (Deferred, (self.fn, *self.args))


_NO_DEFAULT = object()


class lazy_field:  # noqa: N801 - used like dataclasses.field
    """A frozen-dataclass field that may be given a :class:`Deferred`: computed on first
    read, kept after, and otherwise an ordinary field (``__init__`` argument, equality,
    hash, repr, ``dataclasses.fields`` and the JSON views all read the computed value).
    For the past events and the wedges and divergences of history, which only
    ``--events``, charts, stats and the JSON views read: a many-market scan rendering its
    summary table never builds them (issue #6). ``default``: the field's default, if any."""

    def __init__(self, default: Any = _NO_DEFAULT) -> None:
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = f"_lazy_{name}"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:  # class access: the default, if any (dataclasses reads this)
            if self.default is _NO_DEFAULT:
                raise AttributeError(self.key)
            return self.default
        value = obj.__dict__[self.key]
        if type(value) is Deferred:
            value = value.fn(*value.args)
            obj.__dict__[self.key] = value  # a cache: the value is what it would have been
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.key] = value  # frozen dataclasses set fields in __init__ only


WedgeKind = Literal["falling", "rising"]
WedgeState = Literal["forming", "broke_up", "broke_down", "expired"]
DivergenceKind = Literal["regular_bearish", "regular_bullish", "hidden_bearish", "hidden_bullish"]


@dataclass(frozen=True)
class Pivot:
    """A swing high or low at ``bar``, known from ``confirm_bar`` on."""

    __json_properties__: ClassVar[tuple[str, ...]] = ("time", "confirm_time")

    side: Literal["high", "low"]
    bar: int
    time_ms: int
    price: float
    confirm_bar: int
    confirm_ms: int

    @property
    def time(self) -> datetime:
        return utc(self.time_ms)

    @property
    def confirm_time(self) -> datetime:
        return utc(self.confirm_ms)


@dataclass(frozen=True)
class TrendLine:
    """``price(bar) = start_price + slope_per_bar * (bar - start_bar)``."""

    __json_properties__: ClassVar[tuple[str, ...]] = ("start_time", "end_time")

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

    @property
    def start_time(self) -> datetime:
        return utc(self.start_ms)

    @property
    def end_time(self) -> datetime:
        return utc(self.end_ms)


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

    __json_properties__: ClassVar[tuple[str, ...]] = ("known_at", "state_at", "start_time")

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
    """Distance between the lines at the wedge's start: the later of the two lines' first
    touches, the first bar where both lines are drawn (docs/patterns.md)."""
    targets: tuple[Target, ...]
    known_at_close: float = float("nan")
    """Close of the ``known_at`` candle."""
    state_at_close: float = float("nan")
    """Close of the ``state_at`` candle (the break's close once broken)."""

    @property
    def touches(self) -> int:
        return self.upper.touches + self.lower.touches

    @property
    def start_ms(self) -> int:
        """Open time of the pattern's first pivot (each line starts at its own first touch)."""
        return self.pivots[0].time_ms

    @property
    def start_time(self) -> datetime:
        return utc(self.start_ms)

    @property
    def known_at(self) -> datetime:
        return utc(self.known_at_ms)

    @property
    def state_at(self) -> datetime:
        return utc(self.state_at_ms)


@dataclass(frozen=True)
class Divergence:
    """An RSI divergence between two RSI pivots, known at ``known_at`` (later pivot + right)."""

    __json_properties__: ClassVar[tuple[str, ...]] = ("first_time", "second_time", "known_at")

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
    known_at_close: float = float("nan")
    """Close of the ``known_at`` candle (the price when the divergence became known)."""

    @property
    def first_time(self) -> datetime:
        return utc(self.first_ms)

    @property
    def second_time(self) -> datetime:
        return utc(self.second_ms)

    @property
    def known_at(self) -> datetime:
        return utc(self.known_at_ms)


@dataclass(frozen=True)
class Level:
    """A price for the level ladder: ``kind`` is e.g. ``wedge_line``, ``target``,
    ``invalidation``; ``label`` says where the number came from."""

    price: float
    kind: str
    label: str
    source: str = ""


@dataclass(frozen=True)
class Event:
    """One fact over history, immutable once reported: it appears identically in any scan
    of a longer history. ``kind`` e.g. ``wedge_falling_formed``, ``wedge_falling_broke_up``,
    ``divergence_regular_bearish``."""

    __json_properties__: ClassVar[tuple[str, ...]] = ("known_at",)

    kind: str
    known_at_bar: int
    known_at_ms: int
    summary: str
    levels: tuple[Level, ...] = ()

    @property
    def known_at(self) -> datetime:
        return utc(self.known_at_ms)


@dataclass(frozen=True)
class PatternReport:
    """What the engine sees as of the last closed candle, plus every event over history."""

    __json_properties__: ClassVar[tuple[str, ...]] = ("last_candle",)

    active_wedges: tuple[Wedge, ...]
    active_divergences: tuple[Divergence, ...]
    events: tuple[Event, ...] = lazy_field()
    """Every event over history, in ``known_at`` order (built on first read)."""
    levels: tuple[Level, ...]
    last_close: float
    last_bar: int
    last_ms: int
    wedges: tuple[Wedge, ...] = lazy_field(())
    """Every wedge found over history (state as of the last candle; built on first read)."""
    divergences: tuple[Divergence, ...] = lazy_field(())
    """Every divergence found over history (built on first read)."""

    @property
    def last_candle(self) -> datetime:
        return utc(self.last_ms)
