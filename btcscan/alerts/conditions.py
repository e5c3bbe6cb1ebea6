"""``--fail-on`` conditions: parse them once, judge them on each series' closed candles.

A condition is ``NAME`` or ``NAME:ARG``; several are joined with commas. The exit code
says whether any holds (:attr:`btcscan.errors.ExitCode.CONDITION_MET`).
"""

from __future__ import annotations

import math
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
    arg: str  # "" (none), "N" (candles), "PCT" (percent), "RSI" (0..100), "PRICE"
    default: float | None
    help: str
    #: the range allowed: N (candles) is low..high; any other argument is above low and up
    #: to high (below high when not ``high_allowed``)
    low: float = 1
    high: float = 10_000
    example: str = "200"
    high_allowed: bool = True


#: how each kind of argument is worded in an error
_ARG_WORDS = {"N": "a whole number of candles", "PCT": "a percentage", "RSI": "an RSI value",
              "PRICE": "a price in the quote currency"}


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
    "below-sma": _Spec("N", None, "the last closed candle closed below its SMA N", low=2),
    "above-sma": _Spec("N", None, "the last closed candle closed at or above its SMA N", low=2),
    "crossed-below-sma": _Spec("N", None, "the last closed candle crossed below SMA N "
                                          "(the one before closed at or above it)", low=2),
    "crossed-above-sma": _Spec("N", None, "the last closed candle crossed above SMA N", low=2),
    "drawdown": _Spec("PCT", None, "the last closed price is at least PCT % below the "
                                   "all-time high (drawdown:30 holds at -30 % or deeper)",
                      low=0, high=100, example="30"),
    "rsi-below": _Spec("RSI", None, "the RSI of the last closed candle is below RSI "
                                    "(the scan's RSI: Wilder, scan.rsi_period)",
                       low=0, high=100, example="30", high_allowed=False),
    "rsi-above": _Spec("RSI", None, "the RSI of the last closed candle is above RSI",
                       low=0, high=100, example="70", high_allowed=False),
    "close-below": _Spec("PRICE", None, "the last closed candle closed below PRICE",
                         low=0, high=math.inf, example="60000"),
    "close-above": _Spec("PRICE", None, "the last closed candle closed at or above PRICE",
                         low=0, high=math.inf, example="100000"),
    "near-level": _Spec("PCT", None, "the last close is within PCT % of a level of the "
                                     "report's ladder (SMA, round number, ATH, wedge line, "
                                     "target...)", low=0, high=100, example="1"),
}
PATTERN_CONDITIONS = ("wedge-breakout", "wedge-breakdown", "bearish-divergence",
                      "bullish-divergence")


def _known() -> str:
    return ", ".join(n + (f":{s.arg}" if s.arg and s.default is None else
                          f"[:{s.arg}]" if s.arg else "") for n, s in CONDITIONS.items())


def _argument(spec: _Spec, name: str, item: str, text: str) -> float:
    """The argument of ``item`` as a number inside the condition's range, or UsageError."""
    t = text.strip().rstrip("%") if spec.arg == "PCT" else text.strip()
    try:
        value = float(t.replace("_", ""))
    except ValueError:
        value = math.nan
    whole = spec.arg == "N"
    if whole:
        ok = spec.low <= value <= spec.high and value == int(value)  # False for nan
        rng = f"{spec.low:g}..{spec.high:g}"
    else:
        ok = spec.low < value and (value <= spec.high if spec.high_allowed else value < spec.high)
        rng = f"above {spec.low:g}" + ("" if math.isinf(spec.high) else
                                        f" and {'at most' if spec.high_allowed else 'below'} "
                                        f"{spec.high:g}")
    if not (ok and math.isfinite(value)):
        raise UsageError(f"--fail-on {item!r}: {spec.arg} must be {_ARG_WORDS[spec.arg]} "
                         f"{rng}, e.g. {name}:{spec.example}")
    return value


def parse_conditions(text: str | None) -> tuple[Condition, ...]:
    """``"below-sma:200,drawdown:30"`` -> conditions; a bad one is a :class:`UsageError`
    that lists the conditions that exist. ``None`` (the option not given) is no condition;
    a given but empty or blank list (``--fail-on=``, ``--fail-on ,,``: what an unset CI
    variable produces) is a usage error, so a gate cannot pass by checking nothing."""
    if text is None:
        return ()
    items = [raw.strip() for raw in text.split(",")]
    if not any(items):
        raise UsageError(f"--fail-on {text!r} names no condition (an unset CI variable?): "
                         f"give one or more of {_known()}, comma-separated")
    out = []
    for item in items:
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
            value = _argument(spec, name, item, arg)
        elif value is None:
            raise UsageError(f"--fail-on {name} needs {spec.arg}, e.g. {name}:{spec.example}")
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


def _rsi(c: Condition, r: SeriesReport) -> ConditionResult:
    assert c.arg is not None
    v = r.rsi.value
    if v is None:
        return ConditionResult(c.text, r.source.label, False,
                               f"{r.rsi.name} is warming up ({r.candles} {r.timeframe} candles)")
    holds = v < c.arg if c.name == "rsi-below" else v > c.arg
    return ConditionResult(
        c.text, r.source.label, holds,
        f"{r.rsi.name} {v:.2f} at the close of the {r.timeframe} candle of "
        f"{r.last_closed.open_time:%Y-%m-%d} ({r.rsi.method})")


def _close(c: Condition, r: SeriesReport) -> ConditionResult:
    assert c.arg is not None
    close = r.last_closed.close
    holds = close < c.arg if c.name == "close-below" else close >= c.arg
    return ConditionResult(
        c.text, r.source.label, holds,
        f"{r.timeframe} close {price_text(close)} of the candle of "
        f"{r.last_closed.open_time:%Y-%m-%d} vs {price_text(c.arg)}")


def _near_level(c: Condition, r: SeriesReport) -> ConditionResult:
    assert c.arg is not None
    close = r.last_closed.close
    if not r.levels:
        return ConditionResult(c.text, r.source.label, False, "the ladder has no level")
    nearest = min(r.levels, key=lambda lv: abs(lv.price / close - 1))
    pct = (nearest.price / close - 1) * 100
    return ConditionResult(
        c.text, r.source.label, abs(pct) <= c.arg,
        f"{r.timeframe} close {price_text(close)} of the candle of "
        f"{r.last_closed.open_time:%Y-%m-%d} is {abs(pct):.2f}% "
        f"{'below' if pct > 0 else 'above'} {nearest.label} {price_text(nearest.price)} "
        f"({nearest.source})")


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


_JUDGES: dict[str, Callable[[Condition, SeriesReport], ConditionResult]] = {
    "drawdown": _drawdown,
    "rsi-below": _rsi, "rsi-above": _rsi,
    "close-below": _close, "close-above": _close,
    "near-level": _near_level,
    **{n: _pattern for n in PATTERN_CONDITIONS},
    **{n: _sma for n in ("below-sma", "above-sma", "crossed-below-sma", "crossed-above-sma")},
}


def evaluate(conditions: tuple[Condition, ...],
             reports: tuple[SeriesReport, ...]) -> tuple[ConditionResult, ...]:
    """Each condition on each series, in that order."""
    return tuple(_JUDGES[c.name](c, r) for r in reports for c in conditions)
