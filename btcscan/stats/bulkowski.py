"""Bulkowski's published wedge statistics (US stocks), as data with their source.

From Thomas Bulkowski's pattern pages (thepatternsite.com, figures updated 2020), as
gathered in ``DOMAIN.md``. A "failure" there is a move of less than 5 % beyond the
breakout before reversing. Printed as a reference beside btcscan's own walk-forward
figures, never as a crypto expectation. Divergences and SMA crosses have no such table.
"""

from __future__ import annotations

from btcscan.stats.types import BulkowskiFigure

SOURCE = "Bulkowski, US stocks, site figures updated 2020"

BULKOWSKI: dict[str, BulkowskiFigure] = {
    "wedge_falling_broke_up": BulkowskiFigure(
        "falling wedge, upward breakout",
        (("breakout direction (of all falling wedges)", 68.0), ("break-even failure", 26.0),
         ("average move", 38.0)), SOURCE),
    "wedge_falling_broke_down": BulkowskiFigure(
        "falling wedge, downward breakout",
        (("breakout direction (of all falling wedges)", 32.0), ("break-even failure", 29.0),
         ("average move", 14.0)), SOURCE),
    "wedge_rising_broke_up": BulkowskiFigure(
        "rising wedge, upward breakout",
        (("breakout direction (of all rising wedges)", 40.0), ("break-even failure", 19.0),
         ("target met", 63.0)), SOURCE),
    "wedge_rising_broke_down": BulkowskiFigure(
        "rising wedge, downward breakout",
        (("breakout direction (of all rising wedges)", 60.0), ("break-even failure", 51.0),
         ("target met", 32.0)), SOURCE),
}


def bulkowski_text(kind: str) -> str | None:
    """"failure 29%, average move 14% (Bulkowski, US stocks, ...)" or None."""
    f = BULKOWSKI.get(kind)
    if f is None:
        return None
    parts = [f"{what} {v:.0f}%" for what, v in f.figures if not what.startswith("breakout")]
    return f"{f.pattern}: {', '.join(parts)} ({f.source})"
