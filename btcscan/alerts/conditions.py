"""``--fail-on`` conditions: parse them once, judge them on each series' closed candles.

A condition is ``NAME`` or ``NAME:ARG``; several are joined with commas. The exit code
says whether any holds (:attr:`btcscan.errors.ExitCode.CONDITION_MET`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from btcscan.alerts.signals import DIVERGENCE_SIGNAL, price_text
from btcscan.errors import UsageError
from btcscan.models import ConditionResult, SeriesReport


@dataclass(frozen=True)
class Condition:
    """A parsed condition: ``name`` with its numeric argument (``None`` when it has none)."""

    text: str
    name: str
    arg: float | None

    @property
    def period(self) -> int:
        return int(self.arg or 0)


@dataclass(frozen=True)
class _Spec:
    arg: str  # "" (none), "N" (whole number >= 1, optional with a default), "PCT"
    default: float | None
    help: str


#: every condition, its argument and what it means (the help and docs print this)
CONDITIONS: dict[str, _Spec] = {
    "wedge-breakout": _Spec("N", 1, "an active wedge closed above its upper line on one of "
                                    "the last N closed candles (default 1: the last one)"),
    "wedge-breakdown": _Spec("N", 1, "an active wedge closed below its lower line on one of "
                                     "the last N closed candles (default 1)"),
    "bearish-divergence": _Spec("N", 1, "a regular bearish RSI divergence became known on one "
                                        "of the last N closed candles (default 1)"),
    "bullish-divergence": _Spec("N", 1, "a regular bullish RSI divergence became known on one "
                                        "of the last N closed candles (default 1)"),
    "below-sma": _Spec("N", None, "the last closed candle closed below its SMA N"),
    "above-sma": _Spec("N", None, "the last closed candle closed at or above its SMA N"),
    "crossed-below-sma": _Spec("N", None, "the last closed candle crossed below SMA N "
                                          "(the one before closed at or above it)"),
    "crossed-above-sma": _Spec("N", None, "the last closed candle crossed above SMA N"),
    "drawdown": _Spec("PCT", None, "the last closed price is at least PCT % below the "
                                   "all-time high (drawdown:30 holds at -30 % or deeper)"),
}
PATTERN_CONDITIONS = ("wedge-breakout", "wedge-breakdown", "bearish-divergence",
                      "bullish-divergence")


def _known() -> str:
    return ", ".join(n + (f":{s.arg}" if s.arg and s.default is None else
                          f"[:{s.arg}]" if s.arg else "") for n, s in CONDITIONS.items())


def parse_conditions(text: str | None) -> tuple[Condition, ...]:
    """``"below-sma:200,drawdown:30"`` -> conditions; a bad one is a :class:`UsageError`
    that lists the conditions that exist."""
    if not text:
        return ()
    out = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        name, _, arg = item.partition(":")
        name = name.strip().lower()
        spec = CONDITIONS.get(name)
        if spec is None:
            raise UsageError(f"unknown --fail-on condition {item!r}: use one or more of "
                             f"{_known()} (comma-separated)")
        value: float | None = spec.default
        if arg.strip():
            if not spec.arg:
                raise UsageError(f"--fail-on {name} takes no argument (got {item!r})")
            try:
                value = float(arg.strip().rstrip("%"))
            except ValueError:
                value = None
            if value is None or value <= 0 or (spec.arg == "N" and value != int(value)):
                what = "a whole number of candles >= 1" if spec.arg == "N" else \
                    "a percentage > 0, e.g. 30"
                raise UsageError(f"--fail-on {item!r}: {spec.arg} must be {what}")
        elif value is None:
            raise UsageError(f"--fail-on {name} needs {spec.arg}, e.g. {name}:"
                             + ("200" if spec.arg == "N" else "30"))
        out.append(Condition(text=item, name=name, arg=value))
    return tuple(out)


def sma_periods_needed(conditions: tuple[Condition, ...]) -> tuple[int, ...]:
    """SMA periods the conditions read (the scan must compute them)."""
    return tuple(sorted({c.period for c in conditions if c.name.endswith("-sma")}))


def _sma(c: Condition, r: SeriesReport) -> ConditionResult:
    s = next((x for x in r.smas if x.period == c.period), None)
    if s is None:  # the CLI adds the periods it needs; a library caller may not have
        raise UsageError(f"--fail-on {c.text}: the scan did not compute SMA {c.period}; add it "
                         "to ScanSettings.sma_periods")
    if s.value is None:
        return ConditionResult(c.text, r.source.label, False,
                               f"SMA {c.period} is warming up ({r.candles} {r.timeframe} candles)")
    want = {"below-sma": ("below", "crossed_below"), "above-sma": ("above", "crossed_above"),
            "crossed-below-sma": ("crossed_below",),
            "crossed-above-sma": ("crossed_above",)}[c.name]
    return ConditionResult(
        c.text, r.source.label, s.state in want,
        f"{r.timeframe} close {price_text(r.last_closed.close)} of the candle of "
        f"{r.last_closed.open_time:%Y-%m-%d} is {s.state.replace('_', ' ')} SMA {c.period} "
        f"{price_text(s.value)} ({s.distance_pct:+.2f}%)")


def _drawdown(c: Condition, r: SeriesReport) -> ConditionResult:
    assert c.arg is not None
    return ConditionResult(
        c.text, r.source.label, r.drawdown_pct <= -c.arg,
        f"drawdown {r.drawdown_pct:+.2f}% (close {price_text(r.latest.price)} of the candle "
        f"closed {r.latest.time:%Y-%m-%d %H:%M} UTC vs all-time high {price_text(r.ath.price)})")


def _pattern(c: Condition, r: SeriesReport) -> ConditionResult:
    p = r.patterns
    if p is None:
        raise UsageError(f"--fail-on {c.name} needs the wedge and divergence detectors, which "
                         "did not run for this scan")
    first_bar = p.last_bar - c.period + 1  # the last N closed candles
    if c.name.startswith("wedge-"):
        state = "broke_up" if c.name == "wedge-breakout" else "broke_down"
        hits = [w for w in p.active_wedges if w.state == state and w.state_at_bar >= first_bar]
        what = [f"{w.kind} wedge {state.replace('_', ' ')} at the close of the candle of "
                f"{_day(w.state_at_ms)}" for w in hits]
    else:
        kind = next(k for k, v in DIVERGENCE_SIGNAL.items() if v == c.name)
        hits = [d for d in p.active_divergences if d.kind == kind and d.known_at_bar >= first_bar]
        what = [f"{kind.replace('_', ' ')} divergence (pivots {_day(d.first_ms)} and "
                f"{_day(d.second_ms)}) known at the close of the candle of {_day(d.known_at_ms)}"
                for d in hits]
    window = "the last closed candle" if c.period == 1 else f"the last {c.period} closed candles"
    return ConditionResult(c.text, r.source.label, bool(hits),
                           ("; ".join(what) if what else "none") + f" (within {window})")


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


_JUDGES: dict[str, Callable[[Condition, SeriesReport], ConditionResult]] = {
    "drawdown": _drawdown,
    **{n: _pattern for n in PATTERN_CONDITIONS},
    **{n: _sma for n in ("below-sma", "above-sma", "crossed-below-sma", "crossed-above-sma")},
}


def evaluate(conditions: tuple[Condition, ...],
             reports: tuple[SeriesReport, ...]) -> tuple[ConditionResult, ...]:
    """Each condition on each series, in that order."""
    return tuple(_JUDGES[c.name](c, r) for r in reports for c in conditions)
