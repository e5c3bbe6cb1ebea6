"""Drawdown and past declines from all-time closing highs, point in time.

The rule (one parameter, ``ScanSettings.decline_min_pct``, default 50):

* walk the closes in order, keeping the all-time closing high so far (the *peak*);
* a decline is the stretch from a peak to the first close above it (its *recovery*);
  its *trough* is the lowest close in that stretch (the earliest one on ties);
* it is reported when trough / peak - 1 <= -min_pct %; a stretch not yet recovered by
  the last close is reported as ``ongoing`` with its lowest close so far.

Closes, not highs and lows: single thin prints (Bitstamp's 2011 wicks) would otherwise
make peaks. Nothing here looks past the last close it is given.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from btcscan.models import Decline, Drawdown, PricePoint

DAY_MS = 86_400_000


def rule_text(min_pct: float, closes: str = "daily") -> str:
    """The rule in words; ``closes`` names the candles whose closes it walks ("4-hour")."""
    return (f"a decline is a fall of at least {min_pct:g}% from an all-time closing high to the "
            f"lowest close before the next close above that high ({closes} closes up to the "
            "scan time)")


def _pp(t: np.ndarray, c: np.ndarray, i: int, method: str) -> PricePoint:
    return PricePoint(price=float(c[i]), time=datetime.fromtimestamp(int(t[i]) / 1000, tz=UTC),
                      method=method)


def _days(t: np.ndarray, i: int, j: int) -> int:
    return round((int(t[j]) - int(t[i])) / DAY_MS)


def find_declines(open_ms: np.ndarray, close: np.ndarray, min_pct: float) -> tuple[Decline, ...]:
    """Declines of at least ``min_pct`` percent from all-time closing highs (see module doc)."""
    t = np.asarray(open_ms, dtype=np.int64)
    c = np.asarray(close, dtype=np.float64)
    out: list[Decline] = []

    def emit(peak: int, trough: int, recovery: int | None) -> None:
        depth = (c[trough] / c[peak] - 1.0) * 100.0
        if depth > -min_pct:
            return
        out.append(Decline(
            peak=_pp(t, c, peak, "all-time closing high"),
            trough=_pp(t, c, trough, "lowest close " + ("before the recovery" if recovery
                                                       is not None else "so far")),
            depth_pct=depth,
            days_to_trough=_days(t, peak, trough),
            recovered=None if recovery is None else
            datetime.fromtimestamp(int(t[recovery]) / 1000, tz=UTC),
            days_to_recover=None if recovery is None else _days(t, peak, recovery),
            ongoing=recovery is None,
        ))

    if c.size == 0:
        return ()
    # the walk in numpy: a new peak is a close above every earlier one; each stretch runs
    # from one peak to the next (its recovery) or to the last close, and its trough is the
    # stretch's lowest close (the earliest on ties). Only stretches deep enough are built.
    new_high = np.empty(c.size, dtype=np.bool_)
    new_high[0] = True
    np.greater(c[1:], np.maximum.accumulate(c)[:-1], out=new_high[1:])
    peaks = np.flatnonzero(new_high)
    low = np.minimum.reduceat(c, peaks)
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = (low / c[peaks] - 1.0) * 100.0
    for k in np.flatnonzero((low < c[peaks]) & ~(depth > -min_pct)).tolist():
        peak = int(peaks[k])
        end = int(peaks[k + 1]) if k + 1 < peaks.size else None
        emit(peak, peak + int(np.argmin(c[peak:end])), end)
    return tuple(out)


def current_drawdown(open_ms: np.ndarray, close: np.ndarray) -> Drawdown:
    """The last close against the highest close up to it, and the lowest close since."""
    t = np.asarray(open_ms, dtype=np.int64)
    c = np.asarray(close, dtype=np.float64)
    peak = int(np.argmax(c))  # earliest on ties
    low = peak + int(np.argmin(c[peak:]))
    last = c.size - 1
    return Drawdown(
        peak=_pp(t, c, peak, "highest close up to the scan time"),
        latest=_pp(t, c, last, "last close"),
        pct=(c[last] / c[peak] - 1.0) * 100.0,
        days_since_peak=_days(t, peak, last),
        lowest_since_peak=_pp(t, c, low, "lowest close since the peak"),
    )
