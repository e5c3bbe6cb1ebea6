"""Pattern engine: falling/rising wedges and RSI divergences, point in time.

:func:`detect_patterns` takes closed candles as arrays and returns a
:class:`~btcscan.patterns.types.PatternReport`. Every event carries the candle at which it
became knowable and is computed from candles up to that one only, so a scan of a longer
history reports it identically (tests replay every prefix of the bundled BTC history).

Importing this package is light (parameters and result types); numba loads on the first
call of :func:`detect_patterns`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from btcscan.patterns.params import PatternParams
from btcscan.patterns.types import (
    Divergence,
    Event,
    Level,
    PatternReport,
    Pivot,
    Target,
    TrendLine,
    Wedge,
)

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Divergence", "Event", "Level", "PatternParams", "PatternReport", "Pivot", "Target",
           "TrendLine", "Wedge", "detect_patterns"]


def detect_patterns(arrays: dict[str, np.ndarray], params: PatternParams | None = None, *,
                    times_ms: np.ndarray | None = None) -> PatternReport:
    """Wedges and RSI divergences over closed candles; see
    :func:`btcscan.patterns.engine.detect_patterns`."""
    from btcscan.patterns.engine import detect_patterns as _detect

    return _detect(arrays, params, times_ms=times_ms)
