"""Small hand-built pattern-engine results (issue #4's ``btcscan.patterns.types``).

Until that engine is merged, stand-ins with the same fields (copied from the issue-4
branch's types.py) are used; afterwards the real classes are imported automatically.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

try:
    from btcscan.patterns.types import (  # type: ignore[import-not-found]
        Divergence,
        Level,
        PatternReport,
        Pivot,
        Target,
        TrendLine,
        Wedge,
    )
except ImportError:  # issue-4 not merged yet: same shape
    @dataclass(frozen=True)
    class Pivot:  # type: ignore[no-redef]
        side: Literal["high", "low"]
        bar: int
        time_ms: int
        price: float
        confirm_bar: int
        confirm_ms: int

    @dataclass(frozen=True)
    class TrendLine:  # type: ignore[no-redef]
        start_bar: int
        start_ms: int
        start_price: float
        end_bar: int
        end_ms: int
        end_price: float
        slope_per_bar: float
        value_at_last: float
        touches: int

        def value_at(self, bar: float) -> float:
            return self.start_price + self.slope_per_bar * (bar - self.start_bar)

    @dataclass(frozen=True)
    class Target:  # type: ignore[no-redef]
        price: float
        rule: str
        kind: str = "target"

    @dataclass(frozen=True)
    class Wedge:  # type: ignore[no-redef]
        kind: str
        upper: TrendLine
        lower: TrendLine
        pivots: tuple
        state: str
        known_at_bar: int
        known_at_ms: int
        state_at_bar: int
        state_at_ms: int
        apex_bar: float
        height_at_start: float
        targets: tuple

        @property
        def touches(self) -> int:
            return self.upper.touches + self.lower.touches

    @dataclass(frozen=True)
    class Divergence:  # type: ignore[no-redef]
        kind: str
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
    class Level:  # type: ignore[no-redef]
        price: float
        kind: str
        label: str

    @dataclass(frozen=True)
    class PatternReport:  # type: ignore[no-redef]
        active_wedges: tuple
        active_divergences: tuple
        events: tuple
        levels: tuple
        last_close: float
        last_bar: int
        last_ms: int
        wedges: tuple = ()
        divergences: tuple = ()

WEEK_MS = 7 * 86_400_000
T0 = 1_600_041_600_000  # Monday 2020-09-14 00:00 UTC


def bar_ms(bar: int) -> int:
    return T0 + bar * WEEK_MS


def line(b0: int, p0: float, b1: int, p1: float, last_bar: int, touches: int = 3) -> TrendLine:
    slope = (p1 - p0) / (b1 - b0)
    return TrendLine(b0, bar_ms(b0), p0, b1, bar_ms(b1), p1, slope,
                     p0 + slope * (last_bar - b0), touches)


def wedge(kind: str, state: str, state_at_bar: int, start: int = 60, end: int = 90,
          last_bar: int = 100, top: float = 60_000.0, bottom: float = 50_000.0) -> Wedge:
    """A wedge from ``start`` to ``end`` with a target and an invalidation level."""
    if kind == "falling":  # both down, upper steeper
        upper, lower = line(start, top, end, top * 0.80, last_bar), \
            line(start, bottom, end, bottom * 0.90, last_bar, touches=2)
        targets = (Target(top, "highest peak of the pattern (Bulkowski)"),
                   Target(bottom * 0.88, "lowest valley of the pattern", "invalidation"))
    else:  # rising: both up, lower steeper
        upper, lower = line(start, top, end, top * 1.10, last_bar), \
            line(start, bottom, end, bottom * 1.25, last_bar, touches=2)
        targets = (Target(bottom, "lowest valley of the pattern (Bulkowski)"),
                   Target(top * 1.12, "highest peak of the pattern", "invalidation"))
    pivots = (Pivot("high", start, bar_ms(start), top, start + 5, bar_ms(start + 5)),
              Pivot("low", start + 3, bar_ms(start + 3), bottom, start + 8, bar_ms(start + 8)))
    return Wedge(kind, upper, lower, pivots, state, end, bar_ms(end), state_at_bar,
                 bar_ms(state_at_bar), end + 20.0, top - bottom, targets)


def divergence(kind: str, known_at_bar: int, first_bar: int | None = None) -> Divergence:
    second = known_at_bar - 5
    first = first_bar if first_bar is not None else second - 12
    bearish = "bearish" in kind
    return Divergence(kind, first, bar_ms(first), 58_000.0 if bearish else 52_000.0,
                      72.0 if bearish else 28.0, second, bar_ms(second),
                      61_000.0 if bearish else 49_000.0, 66.0 if bearish else 33.0,
                      known_at_bar, bar_ms(known_at_bar))


def pattern_report(last_bar: int, wedges=(), divergences=()) -> PatternReport:
    levels = tuple(Level(t.price, t.kind, t.rule) for w in wedges for t in w.targets)
    return PatternReport(tuple(wedges), tuple(divergences), (), levels, 55_000.0, last_bar,
                         bar_ms(last_bar), tuple(wedges), tuple(divergences))


@lru_cache(maxsize=1)
def _base_report():
    import btcscan.api as bs

    return bs.scan(sample=True).series[0]


def report_with(patterns) -> object:
    """The sample's weekly report with ``patterns`` attached."""
    return replace(_base_report(), patterns=patterns)
