"""Events -> scorable rows: direction, entry bar, targets with their rule, invalidation.

Every row's levels are computed from candles up to its entry bar only (the engine's events
are causal; the SMA crosses and ATR here read bars ``<= entry``). Rules, stated once:

**Wedge breakouts and breakdowns** (``wedge_<falling|rising>_<broke_up|broke_down>``):
entry = close of the breakout candle (the wedge's ``state_at``); direction long for a
break up, short for a break down; targets = the wedge's own targets (Bulkowski's pattern
extreme where it applies, the measured move); invalidation = the wedge's invalidation level
(the wedge's last swing low for a break up, last swing high for a break down), judged as the
wedge states it: on a **close** beyond it.

**RSI divergences** (``divergence_<regular|hidden>_<bearish|bullish>``): entry = close of
the candle the divergence became known (second pivot + ``div_pivot_right``); bearish ones
are short, bullish long. Target = the opposite extreme between the two pivots (bearish: the
lowest low from the first to the second pivot; bullish: the highest high); invalidation =
the second pivot's price, touched intrabar (bearish: a high at or above the second pivot
high; bullish: a low at or below the second pivot low).

**SMA support breaks and reclaims** (``sma<N>_break`` / ``sma<N>_reclaim``, N = 50, 100 on
the scanned timeframe): a close below the SMA after a close at or above it (break, short),
or a close at or above it after one below (reclaim, long), as in the scan's SMA states.
Target = entry -/+ 2 x ATR(14) at the entry candle ("2 ATR move"); invalidation = a
**close** beyond the SMA at the entry candle +/- 1 x ATR(14) (clearly back through it: a
support break is a close, so is its undoing).

Common rules: a target already at or beyond the entry in the signal's direction is dropped
(it would count as "reached" on the next candle without the market doing anything); an
invalidation already breached at the entry stays, so the event is invalidated on the next
candle that trades (or, when judged on closes, closes) there (conservative). Events are
scored over ``horizon`` candles after the entry (:data:`DEFAULT_HORIZON_BARS`); gaps in the
data are not filled, so the horizon counts candles present.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

#: Candles after the entry before an unresolved event counts as expired, per timeframe.
DEFAULT_HORIZON_BARS: dict[str, int] = {"1h": 240, "4h": 180, "12h": 120, "1d": 90, "3d": 60,
                                        "1w": 52, "1M": 24}
#: Horizon for a timeframe not listed above.
FALLBACK_HORIZON_BARS = 100
SMA_PERIODS = (50, 100)
ATR_PERIOD = 14
SMA_TARGET_ATR = 2.0
SMA_INVALIDATION_ATR = 1.0
#: Most targets per event (the wedge's pattern extreme and measured move).
MAX_TARGETS = 2

KIND_LABELS: dict[str, str] = {
    "wedge_falling_broke_up": "falling-wedge breakouts (up)",
    "wedge_falling_broke_down": "falling-wedge breakdowns",
    "wedge_rising_broke_up": "rising-wedge breakouts (up)",
    "wedge_rising_broke_down": "rising-wedge breakdowns",
    "divergence_regular_bearish": "regular bearish RSI divergences",
    "divergence_regular_bullish": "regular bullish RSI divergences",
    "divergence_hidden_bearish": "hidden bearish RSI divergences",
    "divergence_hidden_bullish": "hidden bullish RSI divergences",
    **{f"sma{p}_{what}": f"SMA {p} {label}" for p in SMA_PERIODS
       for what, label in (("break", "support breaks (close below)"),
                           ("reclaim", "reclaims (close above)"))},
}

DIVERGENCE_RULES = {
    "short": ("lowest low between the pivots", "a high at or above the second pivot high"),
    "long": ("highest high between the pivots", "a low at or below the second pivot low"),
}


def default_horizon(timeframe: str) -> int:
    """Horizon in candles for ``timeframe`` (1d: 90, 1w: 52, 1M: 24, ...)."""
    return DEFAULT_HORIZON_BARS.get(timeframe, FALLBACK_HORIZON_BARS)


def unit_of(timeframe) -> str:
    """"weeks" for 1w, "days" for 1d, ...; "candles" for multiples (3d)."""
    if timeframe.count != 1:
        return "candles"
    return {"d": "days", "w": "weeks", "M": "months", "h": "hours", "m": "minutes"}[timeframe.unit]


@dataclass(frozen=True)
class EventRow:
    """One event ready to score. ``targets``: (price, short rule, full rule) in the order
    the source gave them."""

    kind: str
    direction: int  # +1 long, -1 short
    bar: int
    targets: tuple[tuple[float, str, str], ...]
    invalidation: float
    invalidation_rule: str
    detail: str
    on_close: bool = False
    """Invalidation judged on a close beyond the level (else a touch by the high/low)."""


def _beyond(price: float, entry: float, d: int) -> bool:
    """Is a target still ahead of the entry in the signal's direction?"""
    return price > entry if d > 0 else price < entry


def _keep(targets, entry: float, d: int):
    return tuple(t for t in targets if math.isfinite(t[0]) and _beyond(t[0], entry, d))


def _wedge_parts(w, close: np.ndarray):
    """(direction, entry bar, kept targets, invalidation targets) of a broken wedge."""
    d = 1 if w.state == "broke_up" else -1
    s = w.state_at_bar
    tg = [(t.price, t.rule.split(":")[0], t.rule) for t in w.targets if t.kind == "target"]
    inv = [t for t in w.targets if t.kind == "invalidation"]
    return d, s, _keep(tg, float(close[s]), d), inv


def _divergence_parts(v, high: np.ndarray, low: np.ndarray, close: np.ndarray):
    """(direction, entry bar, kept targets, side) of a divergence."""
    d = -1 if v.kind.endswith("bearish") else 1
    a, b = v.first_bar, v.second_bar
    side = "short" if d < 0 else "long"
    t_rule = DIVERGENCE_RULES[side][0]
    target = float(low[a:b + 1].min()) if d < 0 else float(high[a:b + 1].max())
    entry = float(close[v.known_at_bar])
    targets = _keep(((target, "pivot-span extreme", f"pivot-span extreme: {t_rule}"),), entry, d)
    return d, v.known_at_bar, targets, side


def sma_crosses(close: np.ndarray, sma_values: np.ndarray, atr_values: np.ndarray) -> np.ndarray:
    """Bars whose close is on the other side of the SMA than the previous close (``>=`` is
    above), where the SMA and the ATR of both bars are known."""
    valid = ~np.isnan(sma_values) & ~np.isnan(atr_values)
    above = close >= sma_values
    return np.flatnonzero(valid[1:] & valid[:-1] & (above[1:] != above[:-1])) + 1


def wedge_rows(report, close: np.ndarray) -> list[EventRow]:
    """Broken wedges of a :class:`~btcscan.patterns.types.PatternReport` -> rows."""
    out = []
    for w in report.wedges:
        if w.state not in ("broke_up", "broke_down"):
            continue
        d, s, targets, inv = _wedge_parts(w, close)
        out.append(EventRow(
            kind=f"wedge_{w.kind}_{w.state}", direction=d, bar=s, targets=targets,
            invalidation=inv[0].price if inv else float("nan"),
            invalidation_rule=inv[0].rule if inv else "none", on_close=True,
            detail=f"{w.kind} wedge {w.upper.start_time:%Y-%m-%d}..{w.upper.end_time:%Y-%m-%d}, "
                   f"{w.touches} touches, {w.state.replace('_', ' ')}"))
    return out


def divergence_rows(report, high: np.ndarray, low: np.ndarray,
                    close: np.ndarray) -> list[EventRow]:
    """Divergences -> rows (rules in the module docstring)."""
    out = []
    for v in report.divergences:
        d, bar, targets, side = _divergence_parts(v, high, low, close)
        out.append(EventRow(
            kind=f"divergence_{v.kind}", direction=d, bar=bar, targets=targets,
            invalidation=float(v.second_price),
            invalidation_rule=f"invalidation: {DIVERGENCE_RULES[side][1]}",
            detail=f"{v.kind.replace('_', ' ')} divergence, pivots {v.first_time:%Y-%m-%d} and "
                   f"{v.second_time:%Y-%m-%d}"))
    return out


def sma_rows(high: np.ndarray, low: np.ndarray, close: np.ndarray,
             periods: tuple[int, ...] = SMA_PERIODS) -> list[EventRow]:
    """Closes crossing an SMA of the same candles -> break (short) / reclaim (long) rows."""
    from btcscan.kernels.rolling import atr, sma

    a = atr(high, low, close, ATR_PERIOD)
    a_list, c_list = a.tolist(), close.tolist()
    out = []
    for p in periods:
        s = sma(close, p)
        cross = sma_crosses(close, s, a)
        s_list = s.tolist()
        # the rule texts depend only on the period and the direction: build them once
        texts = {
            d: (f"sma{p}_{'reclaim' if d > 0 else 'break'}",
                f"2 ATR move: entry {'+' if d > 0 else '-'} 2 x ATR({ATR_PERIOD})",
                (f"invalidation: a close {'below' if d > 0 else 'above'} SMA {p} "
                 f"{'-' if d > 0 else '+'} 1 x ATR({ATR_PERIOD}) at the entry candle"),
                f"close {'at or above' if d > 0 else 'below'} SMA {p}")
            for d in (1, -1)
        }
        for i in cross.tolist():
            entry, atr_i, sma_i = c_list[i], a_list[i], s_list[i]
            d = 1 if entry >= sma_i else -1
            kind, target_text, inval_text, detail = texts[d]
            out.append(EventRow(
                kind=kind, direction=d, bar=i,
                targets=((entry + d * SMA_TARGET_ATR * atr_i, "2 ATR move", target_text),),
                invalidation=sma_i - d * SMA_INVALIDATION_ATR * atr_i,
                invalidation_rule=inval_text, on_close=True,
                detail=f"{detail} ({sma_i:,.6g})"))
    return out


def event_rows(report, high: np.ndarray, low: np.ndarray, close: np.ndarray,
               sma_periods: tuple[int, ...] = SMA_PERIODS) -> list[EventRow]:
    """Every scorable event of one series, ordered by entry bar then kind."""
    rows = (wedge_rows(report, close) + divergence_rows(report, high, low, close)
            + sma_rows(high, low, close, sma_periods))
    rows.sort(key=lambda r: (r.bar, r.kind))
    return rows


#: What :func:`kind_rows` gives per event: (entry bar, direction, kept targets as
#: (price, short rule) pairs, invalidation level, invalidation judged on a close); no texts.
LeanRow = tuple[int, int, tuple[tuple[float, str], ...], float, bool]


def kind_rows(report, high: np.ndarray, low: np.ndarray, close: np.ndarray,
              kinds: Collection[str], sma_periods: tuple[int, ...] = SMA_PERIODS
              ) -> tuple[dict[str, list[LeanRow]], int]:
    """The rows of only the ``kinds`` asked for, as plain tuples ordered by entry bar, with
    the levels :func:`event_rows` gives them (rule texts and details left out), and how
    many rows :func:`event_rows` gives over every kind (counted, not built). A scan's
    stats lines need one kind per active signal; building and scoring every past event of
    every kind was most of a scan's time (issue #6)."""
    want = set(kinds)
    out: dict[str, list[LeanRow]] = {}
    total = 0
    for w in report.wedges:
        if w.state not in ("broke_up", "broke_down"):
            continue
        total += 1
        kind = f"wedge_{w.kind}_{w.state}"
        if kind in want:
            d, s, targets, inv = _wedge_parts(w, close)
            out.setdefault(kind, []).append(
                (s, d, tuple(t[:2] for t in targets), inv[0].price if inv else float("nan"),
                 True))
    total += len(report.divergences)
    for v in report.divergences:
        kind = f"divergence_{v.kind}"
        if kind in want:
            d, bar, targets, _ = _divergence_parts(v, high, low, close)
            out.setdefault(kind, []).append(
                (bar, d, tuple(t[:2] for t in targets), float(v.second_price), False))
    if sma_periods:
        from btcscan.kernels.rolling import atr, sma

        a = atr(high, low, close, ATR_PERIOD)
        for p in sma_periods:
            s = sma(close, p)
            cross = sma_crosses(close, s, a)
            total += int(cross.size)
            wanted = {d: k for d, k in ((1, f"sma{p}_reclaim"), (-1, f"sma{p}_break"))
                      if k in want}
            if not wanted or not cross.size:
                continue
            for i, entry, atr_i, sma_i in zip(cross.tolist(), close[cross].tolist(),
                                              a[cross].tolist(), s[cross].tolist(), strict=True):
                d = 1 if entry >= sma_i else -1
                kind = wanted.get(d)
                if kind is not None:
                    out.setdefault(kind, []).append(
                        (i, d, ((entry + d * SMA_TARGET_ATR * atr_i, "2 ATR move"),),
                         sma_i - d * SMA_INVALIDATION_ATR * atr_i, True))
    for rows in out.values():
        rows.sort(key=lambda r: r[0])  # stable: the order event_rows gives one kind
    return out, total
