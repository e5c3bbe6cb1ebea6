"""Bulkowski's published wedge statistics (US stocks), as data with their source.

From Thomas Bulkowski's pattern pages (thepatternsite.com, figures updated 2020), as
gathered in ``DOMAIN.md``. A "failure" there is a move of less than 5 % beyond the
breakout before reversing. Printed as a reference beside btcscan's own walk-forward
figures, never as a crypto expectation. Divergences and SMA crosses have no such table.
"""

from __future__ import annotations

from btcscan.stats.types import BulkowskiFigure, PublishedFigure

SOURCE = "Bulkowski, US stocks, site figures updated 2020"

BULKOWSKI: dict[str, BulkowskiFigure] = {
    "wedge_falling_broke_up": BulkowskiFigure("falling wedge, upward breakout", (
        PublishedFigure("falling wedges breaking upward", 68.0),
        PublishedFigure("break-even failure", 26.0),
        PublishedFigure("average move", 38.0)), SOURCE),
    "wedge_falling_broke_down": BulkowskiFigure("falling wedge, downward breakout", (
        PublishedFigure("break-even failure", 29.0),
        PublishedFigure("average move", 14.0)), SOURCE),
    "wedge_rising_broke_up": BulkowskiFigure("rising wedge, upward breakout", (
        PublishedFigure("break-even failure", 19.0),
        PublishedFigure("target met", 63.0)), SOURCE),
    "wedge_rising_broke_down": BulkowskiFigure("rising wedge, downward breakout", (
        PublishedFigure("rising wedges breaking downward", 60.0),
        PublishedFigure("break-even failure", 51.0),
        PublishedFigure("target met", 32.0)), SOURCE),
}


def bulkowski_text(kind: str) -> str | None:
    """"failure 29%, average move 14% (Bulkowski, US stocks, ...)" or None."""
    f = BULKOWSKI.get(kind)
    if f is None:
        return None
    parts = [f"{x.what} {x.pct:.0f}%" for x in f.figures if "breaking" not in x.what]
    return f"{f.pattern}: {', '.join(parts)} ({f.source})"
