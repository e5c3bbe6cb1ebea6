"""Signals of a series report: SMA crosses on the last closed candle, plus the pattern
engine's wedge and divergence facts when detectors ran (``SeriesReport.patterns``).

Times are the open time of the closed candle that made the fact knowable, so a signal
never uses an unclosed candle, and its ``key`` is stable across later scans.
"""

from __future__ import annotations

import math
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


def sma_signals(r: SeriesReport) -> list[Signal]:
    """A cross of an SMA by the last closed candle's close."""
    out = []
    t = r.last_closed.open_time
    for s in r.smas:
        if s.state not in ("crossed_below", "crossed_above"):
            continue
        kind = f"{s.state.replace('_', '-')}-sma"
        out.append(Signal(
            market=r.source.label, symbol=r.source.symbol, timeframe=r.timeframe,
            kind=kind, time=t, price=r.last_closed.close, trigger_level=s.value,
            detail=f"{r.timeframe} close {price_text(r.last_closed.close)} "
                   f"{s.state.replace('_', ' ')} SMA {s.period} ({price_text(s.value)})",
            key=_key(r, f"{kind}:{s.period}", _iso(t)),
        ))
    return out


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


def pattern_signals(r: SeriesReport, p: PatternReport) -> list[Signal]:
    out: list[Signal] = []
    for w in p.active_wedges:
        s = wedge_signal(r, w)
        if s is not None:
            out.append(s)
    out.extend(divergence_signal(r, d) for d in p.active_divergences)
    return out


def signals_of(r: SeriesReport) -> tuple[Signal, ...]:
    """Every signal of one report, oldest first."""
    out = sma_signals(r)
    if r.patterns is not None:
        out += pattern_signals(r, r.patterns)
    return tuple(sorted(out, key=lambda s: (s.time, s.kind, s.key)))
