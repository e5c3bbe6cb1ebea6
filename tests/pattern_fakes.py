"""Small hand-built pattern-engine results (``btcscan.patterns.types``) on a weekly grid,
for tests of what is done with them: signals, conditions, chart overlays, state keys."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from btcscan.patterns.types import (
    Divergence,
    Level,
    PatternReport,
    Pivot,
    Target,
    TrendLine,
    Wedge,
)

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
                 bar_ms(state_at_bar), end + 20.0, top - bottom, targets,
                 known_at_close=KNOWN_CLOSE, state_at_close=STATE_CLOSE)


KNOWN_CLOSE = 55_500.0  # close of a fake wedge's or divergence's known_at candle
STATE_CLOSE = 54_000.0  # close of a fake wedge's state_at candle


def divergence(kind: str, known_at_bar: int, first_bar: int | None = None) -> Divergence:
    second = known_at_bar - 5
    first = first_bar if first_bar is not None else second - 12
    bearish = "bearish" in kind
    return Divergence(kind, first, bar_ms(first), 58_000.0 if bearish else 52_000.0,
                      72.0 if bearish else 28.0, second, bar_ms(second),
                      61_000.0 if bearish else 49_000.0, 66.0 if bearish else 33.0,
                      known_at_bar, bar_ms(known_at_bar), known_at_close=KNOWN_CLOSE)


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
