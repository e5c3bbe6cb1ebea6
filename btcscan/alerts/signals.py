"""Signals of a series report: SMA crosses on the last closed candle, plus the pattern
engine's wedge and divergence facts when detectors ran (``SeriesReport.patterns``).

Times are the open time of the closed candle that made the fact knowable, so a signal
never uses an unclosed candle, and its ``key`` is stable across later scans.

:func:`alerts_of` pairs each signal with what a notification says about it: the level it
happened at, its targets and its invalidation (each with the rule that produced it) and
the detector it came from.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from btcscan.models import SeriesReport, Signal

if TYPE_CHECKING:  # the pattern engine's types, read here, never built
    from btcscan.patterns.types import Divergence, PatternReport, Wedge

#: pattern-engine divergence kinds -> signal kinds (and --fail-on names)
DIVERGENCE_SIGNAL = {
    "regular_bearish": "bearish-divergence",
    "regular_bullish": "bullish-divergence",
    "hidden_bearish": "hidden-bearish-divergence",
    "hidden_bullish": "hidden-bullish-divergence",
}
#: wedge states -> signal kinds
WEDGE_SIGNAL = {"broke_up": "wedge-breakout", "broke_down": "wedge-breakdown",
                "forming": "wedge-formed"}


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%MZ")


def price_text(x: float) -> str:
    """A price for a message: whole units from 1,000 up, else four significant digits."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _key(r: SeriesReport, kind: str, *parts: str) -> str:
    return "|".join((r.source.label, r.timeframe, kind, *parts))


def signal_id(key: str) -> str:
    """A signal's stable id: 16 hex digits of the SHA-256 of its ``key`` (the same fact
    seen by any later run has the same id; notifications carry it as idempotency key)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Mark:
    """A price a notification names, with the rule that produced it."""

    price: float
    rule: str


@dataclass(frozen=True)
class Alert:
    """A signal and what a notification says about it: ``level`` (where it happened),
    ``targets`` and ``invalidation`` (none when the signal's rule sets none), ``source``
    (the detector and its method) and ``asof`` (the scan that found it)."""

    signal: Signal
    level: Mark | None
    targets: tuple[Mark, ...]
    invalidation: Mark | None
    source: str
    asof: datetime

    @property
    def id(self) -> str:
        return signal_id(self.signal.key)


def _alert(r: SeriesReport, signal: Signal, level: Mark | None, targets: tuple[Mark, ...],
           invalidation: Mark | None, source: str) -> Alert:
    return Alert(signal, level, targets, invalidation, source, r.asof)


def sma_alerts(r: SeriesReport) -> list[Alert]:
    """A cross of an SMA by the last closed candle's close; it is undone by a close back
    on the other side (the SMA's value at this close is the level)."""
    out = []
    t = r.last_closed.open_time
    for s in r.smas:
        if s.state not in ("crossed_below", "crossed_above"):
            continue
        kind = f"{s.state.replace('_', '-')}-sma"
        back = "above" if s.state == "crossed_below" else "below"
        level = Mark(s.value, f"SMA {s.period} at the {r.timeframe} close of {t:%Y-%m-%d}")
        out.append(_alert(r, Signal(
            market=r.source.label, symbol=r.source.symbol, timeframe=r.timeframe,
            kind=kind, time=t, price=r.last_closed.close, trigger_level=s.value,
            detail=f"{r.timeframe} close {price_text(r.last_closed.close)} "
                   f"{s.state.replace('_', ' ')} SMA {s.period} ({price_text(s.value)})",
            key=_key(r, f"{kind}:{s.period}", _iso(t)),
        ), level, (), Mark(s.value, f"a {r.timeframe} close back {back} SMA {s.period} "
                                    "at its value at this close"), f"SMA {s.period}: {s.method}"))
    return out


def sma_signals(r: SeriesReport) -> list[Signal]:
    """A cross of an SMA by the last closed candle's close."""
    return [a.signal for a in sma_alerts(r)]


def _wedge_level(w: Wedge, s: Signal) -> Mark | None:
    """The line the signal is about, at the candle that made it known: the signal's
    ``trigger_level`` (:func:`wedge_signal` states the rule), named for a reader."""
    if s.trigger_level is None:
        return None
    rule = {"broke_up": "breakout level: the upper line at the breakout close",
            "broke_down": "breakdown level: the lower line at the breakdown close"}.get(w.state)
    if rule is None:  # forming: the line whose break the measured move starts from
        rule = ("the upper line where the wedge became known (a close above it is the "
                "breakout)" if w.kind == "falling" else "the lower line where the wedge became "
                "known (a close below it is the breakdown)")
    return Mark(s.trigger_level, rule)


def wedge_alert(r: SeriesReport, w: Wedge) -> Alert | None:
    s = wedge_signal(r, w)
    if s is None:
        return None
    inval = next((Mark(t.price, t.rule) for t in w.targets if t.kind == "invalidation"), None)
    return _alert(r, s, _wedge_level(w, s),
                  tuple(Mark(t.price, t.rule) for t in w.targets if t.kind == "target"), inval,
                  f"wedge detector: {w.kind} wedge, lines through {len(w.pivots)} pivots, "
                  f"{w.touches} touches (docs/patterns.md)")


def wedge_signal(r: SeriesReport, w: Wedge) -> Signal | None:
    kind = WEDGE_SIGNAL.get(w.state)
    if kind is None:
        return None
    at = w.known_at_ms if w.state == "forming" else w.state_at_ms
    if w.state == "forming":  # the line it is expected to break, where it became known
        line = w.upper if w.kind == "falling" else w.lower
        close, trigger = w.known_at_close, line.value_at(w.known_at_bar)
    else:  # the line its close went beyond
        line = w.upper if w.state == "broke_up" else w.lower
        close, trigger = w.state_at_close, line.value_at(w.state_at_bar)
    targets = "; ".join(
        f"{price_text(t.price)} {t.rule}" if t.rule.lower().startswith(t.kind)
        else f"{t.kind} {price_text(t.price)} ({t.rule})" for t in w.targets)
    return Signal(
        market=r.source.label, symbol=r.source.symbol, timeframe=r.timeframe, kind=kind,
        time=_dt(at), price=_finite(close), trigger_level=_finite(trigger),
        detail=f"{w.kind} wedge {_iso(_dt(w.start_ms))[:10]}.."
               f"{_iso(_dt(max(w.upper.end_ms, w.lower.end_ms)))[:10]}, {w.touches} touches, "
               + (f"formed {_iso(_dt(at))[:10]}" if w.state == "forming" else
                  f"{w.state.replace('_', ' ')} at the close of {_iso(_dt(at))[:10]}")
               + (f"; {targets}" if targets else ""),
        # both parts were the first pivot's time (the lines' old common start): keys of
        # signals reported before stay the same
        key=_key(r, kind, w.kind, _iso(_dt(w.start_ms)), _iso(_dt(w.start_ms))),
    )


def divergence_signal(r: SeriesReport, d: Divergence) -> Signal:
    kind = DIVERGENCE_SIGNAL[d.kind]
    return Signal(
        market=r.source.label, symbol=r.source.symbol, timeframe=r.timeframe, kind=kind,
        time=_dt(d.known_at_ms), price=_finite(d.known_at_close), trigger_level=d.second_price,
        detail=(f"{d.kind.replace('_', ' ')} RSI divergence: price {price_text(d.first_price)} -> "
                f"{price_text(d.second_price)}, RSI {d.first_rsi:.1f} -> {d.second_rsi:.1f} "
                f"(pivots {_iso(_dt(d.first_ms))[:10]} and {_iso(_dt(d.second_ms))[:10]})"),
        key=_key(r, kind, _iso(_dt(d.first_ms)), _iso(_dt(d.second_ms))),
    )


def divergence_alert(r: SeriesReport, d: Divergence) -> Alert:
    """A divergence is against the price extreme at its second pivot: a close beyond it
    (above for bearish kinds, below for bullish ones) invalidates it. Price has often passed
    it by the candle that made the divergence known (DOMAIN.md): the rule then says so."""
    s = divergence_signal(r, d)
    bearish = d.kind.endswith("bearish")
    side = "above" if bearish else "below"
    last = r.last_closed.close
    passed = last > d.second_price if bearish else last < d.second_price
    rule = (f"a close {side} the price at the second pivot"
            + (f" (already passed: last {r.timeframe} close {price_text(last)})" if passed
               else ""))
    return _alert(r, s, Mark(d.second_price, f"price at the second RSI pivot, "
                                            f"{_iso(_dt(d.second_ms))[:10]}"),
                  (), Mark(d.second_price, rule),
                  f"RSI divergence detector: pivots on {r.rsi.name} of {r.timeframe} closes "
                  "(TradingView's rules, docs/patterns.md)")


def pattern_alerts(r: SeriesReport, p: PatternReport) -> list[Alert]:
    out = [a for a in (wedge_alert(r, w) for w in p.active_wedges) if a is not None]
    out.extend(divergence_alert(r, d) for d in p.active_divergences)
    return out


def pattern_signals(r: SeriesReport, p: PatternReport) -> list[Signal]:
    return [a.signal for a in pattern_alerts(r, p)]


def alerts_of(r: SeriesReport) -> tuple[Alert, ...]:
    """Every signal of one report with what a notification says about it, oldest first."""
    out = sma_alerts(r)
    if r.patterns is not None:
        out += pattern_alerts(r, r.patterns)
    return tuple(sorted(out, key=lambda a: (a.signal.time, a.signal.kind, a.signal.key)))


def signals_of(r: SeriesReport) -> tuple[Signal, ...]:
    """Every signal of one report, oldest first."""
    return tuple(a.signal for a in alerts_of(r))
