"""Wedge records from the kernels -> :class:`Wedge` objects, events and ladder levels.

Targets (DOMAIN.md, Bulkowski's measure rule), each labelled with its rule:

* falling wedge, forming or broken upward: the pattern's highest peak ("pattern extreme"),
  and a measured move = breakout level + the wedge's height at its start (the breakout
  level is the upper line at the breakout candle, or at the last close while forming).
  The start is where both lines begin: each line is drawn from its first touch (the first
  pivot of its side within the touch tolerance), and the height is the distance between
  the lines at the later of the two first touches (docs/patterns.md);
* rising wedge, forming or broken downward: the lowest valley, and breakdown level - height;
* a wedge broken against its usual direction gets the measured move only;
* invalidation: while forming, a close beyond the opposite line (value at the last close);
  after a break, a close beyond the wedge's last swing point on the other side.
Expired wedges carry no targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from btcscan.kernels import trendlines as tl
from btcscan.kernels.pivots import zigzag
from btcscan.patterns import _fmt
from btcscan.patterns.params import PatternParams
from btcscan.patterns.types import Event, Level, Pivot, Target, TrendLine, Wedge

_STATES = {tl.STATE_FORMING: "forming", tl.STATE_UP: "broke_up", tl.STATE_DOWN: "broke_down",
           tl.STATE_EXPIRED: "expired"}


def _line(x0: int, s: float, c: float, last: int, touches: int, first: Pivot,
          end: Pivot) -> TrendLine:
    """The line ``c + s * (bar - x0)`` drawn from its first touch ``first`` to the last
    pivot ``end``."""
    x1 = end.bar
    return TrendLine(start_bar=first.bar, start_ms=first.time_ms,
                     start_price=float(c + s * (first.bar - x0)),
                     end_bar=x1, end_ms=end.time_ms, end_price=float(c + s * (x1 - x0)),
                     slope_per_bar=float(s), value_at_last=float(c + s * (last - x0)),
                     touches=int(touches))


def _targets(kind: str, state: str, upper: TrendLine, lower: TrendLine,
             pivots: tuple[Pivot, ...], state_bar: int, height: float) -> tuple[Target, ...]:
    highs = [p for p in pivots if p.side == "high"]
    lows = [p for p in pivots if p.side == "low"]
    peak = max(p.price for p in highs)
    valley = min(p.price for p in lows)
    if state == "forming":
        if kind == "falling":
            lvl = upper.value_at_last
            return (Target(peak, "pattern extreme: highest peak in the wedge (Bulkowski)"),
                    Target(lvl + height, "measured move: upper line at last close + wedge "
                           "height at start (if it breaks up)"),
                    Target(lower.value_at_last, "invalidation: a close below the lower line "
                           "(value at last close)", "invalidation"))
        lvl = lower.value_at_last
        return (Target(valley, "pattern extreme: lowest valley in the wedge (Bulkowski)"),
                Target(lvl - height, "measured move: lower line at last close - wedge height "
                       "at start (if it breaks down)"),
                Target(upper.value_at_last, "invalidation: a close above the upper line (value "
                       "at last close)", "invalidation"))
    if state == "broke_up":
        lvl = upper.value_at(state_bar)
        out = []
        if kind == "falling":
            out.append(Target(peak, "pattern extreme: highest peak in the wedge (Bulkowski)"))
        out.append(Target(lvl + height, "measured move: breakout level + wedge height at start"))
        out.append(Target(lows[-1].price, "invalidation: a close below the wedge's last swing "
                          "low", "invalidation"))
        return tuple(out)
    if state == "broke_down":
        lvl = lower.value_at(state_bar)
        out = []
        if kind == "rising":
            out.append(Target(valley, "pattern extreme: lowest valley in the wedge (Bulkowski)"))
        out.append(Target(lvl - height, "measured move: breakdown level - wedge height at start"))
        out.append(Target(highs[-1].price, "invalidation: a close above the wedge's last swing "
                          "high", "invalidation"))
        return tuple(out)
    return ()


def wedge_records(high: np.ndarray, low: np.ndarray, close: np.ndarray, atr: np.ndarray,
                  params: PatternParams) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The kernels' wedges over the bars: (the zig-zag log, the wedge records of
    :func:`btcscan.kernels.trendlines.scan_wedges`)."""
    log = zigzag(high, low, atr, params.pivot_left, params.pivot_right, params.min_swing_atr)
    return log, tl.scan_wedges(close, atr, log, params)


class WedgeRows(NamedTuple):
    """The wedge scan's records with the candle values they point at, gathered when the
    scan ends so that :func:`wedges_of` can build the objects later without the candles
    or the zig-zag log. ``pivot_*``: per record, its window's pivots (row ``i``, the first
    ``rec["npiv"][i]`` columns), from the log entries ``rec["pivots"]``."""

    rec: np.ndarray  # btcscan.kernels.trendlines.scan_wedges records
    pivot_side: np.ndarray  # +1 high, -1 low
    pivot_bar: np.ndarray
    pivot_ms: np.ndarray  # open time of the pivot's candle
    pivot_price: np.ndarray
    pivot_confirm: np.ndarray  # its confirmation bar and that candle's open time
    pivot_confirm_ms: np.ndarray
    known_ms: np.ndarray  # per record: open time and close of its known_at candle
    known_close: np.ndarray
    state_ms: np.ndarray  # per record: open time and close of its state_at candle
    state_close: np.ndarray
    last_bar: int  # the last closed candle (lines are extended to it)


def wedge_rows(close: np.ndarray, times_ms: np.ndarray, log: dict[str, np.ndarray],
               rec: np.ndarray) -> WedgeRows:
    """:class:`WedgeRows` of the records ``rec`` over zig-zag ``log`` (:func:`wedge_records`)
    on these bars (at least one)."""
    e = np.maximum(rec["pivots"], 0)  # -1 after a window's pivots: read, never used
    bar, confirm = log["bar"][e], log["confirm"][e]
    known, at = rec["known"], rec["state_bar"]
    return WedgeRows(rec, log["side"][e], bar, times_ms[bar], log["price"][e], confirm,
                     times_ms[confirm], times_ms[known], close[known], times_ms[at], close[at],
                     close.shape[0] - 1)


def wedges_of(rows: WedgeRows, which: Sequence[int]) -> list[Wedge]:
    """The wedges of records ``which`` (indices into ``rows.rec``); states as of the last
    bar."""
    last = rows.last_bar
    columns = (rows.pivot_side, rows.pivot_bar, rows.pivot_ms, rows.pivot_price,
               rows.pivot_confirm, rows.pivot_confirm_ms)
    out: list[Wedge] = []
    for i in which:
        w = dict(zip(rows.rec.dtype.names, rows.rec[i].tolist(), strict=True))
        x0, k = w["x0"], w["npiv"]
        pivots = tuple(
            Pivot(side="high" if side > 0 else "low", bar=bar, time_ms=ms, price=price,
                  confirm_bar=confirm, confirm_ms=confirm_ms)
            for side, bar, ms, price, confirm, confirm_ms in zip(
                *(a[i, :k].tolist() for a in columns), strict=True))
        # each line is drawn from its first touch (the kernel's touch rule decides it)
        tu = next(p for p in pivots if p.side == "high" and p.bar == w["first_touch_upper"])
        tl_ = next(p for p in pivots if p.side == "low" and p.bar == w["first_touch_lower"])
        upper = _line(x0, w["slope_upper"], w["c_upper"], last, w["touches_upper"], tu,
                      pivots[-1])
        lower = _line(x0, w["slope_lower"], w["c_lower"], last, w["touches_lower"], tl_,
                      pivots[-1])
        kind = "falling" if w["kind"] == tl.KIND_FALLING else "rising"
        state = _STATES[w["state"]]
        # the height at the wedge's start: where both lines begin (the later first touch)
        start = max(tu.bar, tl_.bar)
        height = upper.value_at(start) - lower.value_at(start)
        at = w["state_bar"]
        out.append(Wedge(
            kind=kind, upper=upper, lower=lower, pivots=pivots, state=state,
            known_at_bar=w["known"], known_at_ms=int(rows.known_ms[i]),
            state_at_bar=at, state_at_ms=int(rows.state_ms[i]),
            apex_bar=float(w["apex"]), height_at_start=float(height),
            targets=_targets(kind, state, upper, lower, pivots, at, height),
            known_at_close=float(rows.known_close[i]),
            state_at_close=float(rows.state_close[i])))
    return out


def _span(w: Wedge) -> str:
    return f"{_fmt.when(w.start_ms)}..{_fmt.when(w.upper.end_ms)}"


def wedge_events(w: Wedge, close: np.ndarray) -> list[Event]:
    """The wedge's immutable events: formed (at ``known_at``) and, once resolved, its break or
    expiry (at ``state_at``). Nothing in them depends on candles after that event."""
    return events_of_wedge(w, float(close[w.state_at_bar]))


def events_of_wedge(w: Wedge, state_close: float) -> list[Event]:
    """:func:`wedge_events` given the close of the wedge's ``state_at`` candle (the only
    candle the break event reads)."""
    name = f"{w.kind} wedge"
    k = w.known_at_bar
    up_k, lo_k = w.upper.value_at(k), w.lower.value_at(k)
    formed = Event(
        kind=f"wedge_{w.kind}_formed", known_at_bar=k, known_at_ms=w.known_at_ms,
        summary=(f"{name.capitalize()} {_span(w)} ({w.upper.touches}+{w.lower.touches} touches, "
                 f"height {_fmt.price(w.height_at_start)} at the start "
                 f"{_fmt.when(max(w.upper.start_ms, w.lower.start_ms))}): upper line "
                 f"{_fmt.price(up_k)}, lower line {_fmt.price(lo_k)} "
                 f"at {_fmt.when(w.known_at_ms)}"),
        levels=(Level(up_k, "wedge_line", f"{name} upper line at {_fmt.when(w.known_at_ms)}"),
                Level(lo_k, "wedge_line", f"{name} lower line at {_fmt.when(w.known_at_ms)}")))
    out = [formed]
    if w.state == "forming":
        return out
    s = w.state_at_bar
    if w.state == "expired":
        out.append(Event(kind=f"wedge_{w.kind}_expired", known_at_bar=s, known_at_ms=w.state_at_ms,
                         summary=f"{name.capitalize()} {_span(w)} reached its apex without a "
                                 f"close outside the lines"))
        return out
    up = w.state == "broke_up"
    lvl = w.upper.value_at(s) if up else w.lower.value_at(s)
    tgt = "; ".join(f"{t.rule.split(':')[0]} {_fmt.price(t.price)}" for t in w.targets)
    out.append(Event(
        kind=f"wedge_{w.kind}_{w.state}", known_at_bar=s, known_at_ms=w.state_at_ms,
        summary=(f"{name.capitalize()} {_span(w)} {'broke up' if up else 'broke down'}: close "
                 f"{_fmt.price(state_close)} {'above' if up else 'below'} the "
                 f"{'upper' if up else 'lower'} line {_fmt.price(lvl)}; {tgt}"),
        levels=(Level(lvl, "breakout" if up else "breakdown", f"{name} break level"),
                *(Level(t.price, t.kind, f"{name}: {t.rule}") for t in w.targets))))
    return out


def wedge_levels(w: Wedge, last_close: float) -> list[Level]:
    """Ladder levels of an active wedge: both lines at the last close, targets, invalidation."""
    name = f"{w.kind} wedge"
    src = f"{name} {_span(w)}, known {_fmt.when(w.known_at_ms)}"
    if w.state != "forming":
        src += f", {w.state.replace('_', ' ')} {_fmt.when(w.state_at_ms)}"
    out = []
    for line, which in ((w.upper, "upper"), (w.lower, "lower")):
        role = "support" if line.value_at_last <= last_close else "resistance"
        out.append(Level(line.value_at_last, "wedge_line",
                         f"{name} {which} trendline {role} (line at last close)",
                         f"{src}; line through {line.touches} pivot touches"))
    lines = {lv.price for lv in out}
    out.extend(Level(t.price, t.kind, f"{name}: {t.rule}", src) for t in w.targets
               if t.price not in lines)  # a forming wedge's invalidation is its line
    return out
