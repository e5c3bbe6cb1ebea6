"""Entry points: candles -> :class:`StatsResult` (``btcscan stats``), and the stats line
beside each active signal of a scan (:func:`signal_lines`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from btcscan.data.schema import Candles
from btcscan.errors import DataError, UsageError
from btcscan.patterns.params import PatternParams
from btcscan.patterns.types import utc
from btcscan.stats import chance, rules
from btcscan.stats.active import active_signal_kinds
from btcscan.stats.bulkowski import bulkowski_text
from btcscan.stats.compute import aggregate, kind_stats, pooled, series_parts, walk_forward_source
from btcscan.stats.types import KindStats, ScanStats, SeriesStats, SignalStatsLine, StatsResult
from btcscan.timeframes import Timeframe, parse_timeframe

RULES = (
    "Entry: the close of the candle whose close made the event knowable; only later candles "
    "are read.",
    "Targets count when a later candle's high (long) / low (short) touches them before the "
    "invalidation and within the horizon; target and invalidation on one candle count as "
    "invalidation.",
    "Wedges: the wedge's own targets (pattern extreme, measured move); invalidation = a close "
    "beyond the wedge's last swing point on the other side.",
    "Divergences: target = the opposite extreme between the two pivots; invalidation = a touch "
    "of the second pivot's price.",
    "SMA breaks/reclaims: target = entry -/+ 2 ATR(14); invalidation = a close back beyond the "
    "SMA +/- 1 ATR(14).",
    "Failure (Bulkowski): less than 5% beyond the entry before a close back through the "
    "entry or the invalidation, judged until the event resolves; the invalidating candle's "
    "favourable move counts neither for MFE nor for the 5%.",
    "Against chance: each measure beside the same events moved by circular shifts to random "
    "entries of the same series (same direction, levels in % of the entry), one position at "
    "a time; two-sided p, Holm over the table's tests.",
    "Open: the data ends inside the horizon with the event unresolved; counted apart.",
)


def stats_candles(series: Sequence[Candles], *, timeframe: str | Timeframe = "1w",
                  asof: str | datetime | None = None, params: PatternParams | None = None,
                  horizon: int | None = None) -> StatsResult:
    """Walk-forward statistics of each series (candles closed by ``asof``), plus pooled per
    kind. ``params`` default: :class:`PatternParams` with hidden divergences on;
    ``horizon`` default: :func:`btcscan.stats.rules.default_horizon` of the timeframe."""
    from btcscan.analysis.series import data_span_ms
    from btcscan.api import parse_asof
    from btcscan.data.resample import resample
    from btcscan.patterns import detect_patterns

    tf = timeframe if isinstance(timeframe, Timeframe) else parse_timeframe(timeframe)
    params = params or PatternParams(include_hidden=True)
    h = horizon or rules.default_horizon(tf.text)
    if h < 1:
        raise UsageError(f"--horizon {h}: must be at least 1 candle")
    asof_ms = parse_asof(asof)
    out: list[SeriesStats] = []
    samples: list[dict] = []
    for c in series:
        first_close, last_close = data_span_ms(c)
        at = last_close if asof_ms is None else asof_ms
        if at < first_close or at > last_close:
            raise DataError(f"{c.source.label}: --asof is outside the data (its candles close "
                            f"from {_day(first_close)} to {_day(last_close)} UTC); pick a date "
                            "in between")
        a = resample(c, tf, at).arrays()
        if a["close"].size < 2:
            raise DataError(f"{c.source.label}: fewer than 2 {tf.label()} candles closed by "
                            "the scan time; use a finer --timeframe or more history")
        report = detect_patterns(a, params)
        s, sm = series_parts(a, report, market=c.source.label, symbol=c.source.symbol,
                             timeframe=tf.text, tf_label=tf.label(), horizon=h)
        kinds, fam = chance.correct(s.kinds)
        out.append(replace(s, kinds=kinds, chance=fam))
        samples.append(sm)
    pooled_kinds, pooled_fam = chance.correct(pooled(out, samples))
    return StatsResult(series=tuple(out), pooled=pooled_kinds, rules=RULES,
                       pooled_chance=pooled_fam)


def _day(ms: int) -> str:
    return f"{utc(ms):%Y-%m-%d %H:%M}"


#: scan signal kinds -> stat kinds (wedge kinds need the wedge's own kind)
_DIVERGENCE = {"bearish-divergence": "divergence_regular_bearish",
               "bullish-divergence": "divergence_regular_bullish",
               "hidden-bearish-divergence": "divergence_hidden_bearish",
               "hidden-bullish-divergence": "divergence_hidden_bullish"}


def scan_signal_stats(arrays, patterns, smas, source, timeframe: Timeframe,
                      sma_periods: tuple[int, ...], horizon: int | None = None) -> ScanStats | None:
    """Stats lines for the active signals of one scanned series: the past events of the
    active signals' kinds in the pattern report the scan already computed (``patterns``)
    are scored over its candles (``arrays``); each active wedge break, divergence and SMA
    cross (``smas``: the scan's SMA states) gets the line of its kind, with Bulkowski's
    published figure where one exists. ``None`` when no signal is active (nothing is
    scored then). ``events_scored`` counts the past events of every kind that
    :func:`btcscan.stats.compute.series_stats` (``btcscan stats``) scores on these candles,
    though only the active kinds' are scored here (the figures are the same)."""
    kinds = active_signal_kinds(patterns, smas)
    if not kinds:  # nothing active: no line to print, so nothing to score (cheap watchlists)
        return None
    h = horizon or rules.default_horizon(timeframe.text)
    tf_label = timeframe.label()
    # only the kinds of the active signals are scored, each KindStats equal to the one
    # series_stats gives (tests/test_scan_stats.py); events_scored stays the number of past
    # events of every kind that series_stats (`btcscan stats`) scores on these candles
    by_kind, n_events = kind_stats(arrays, patterns, [k for _, k in kinds], horizon=h,
                                   sma_periods=tuple(sma_periods))
    first_ms = int(arrays["open_time"][0])
    text = walk_forward_source(source.symbol, tf_label, first_ms)
    return ScanStats(source=text, horizon_bars=h, events_scored=n_events,
                     lines=_lines(by_kind, kinds, source.symbol, tf_label, f"{utc(first_ms):%Y}",
                                  rules.unit_of(timeframe), text))


def line_text(s: KindStats, symbol: str, tf_label: str, since: str, unit: str) -> str:
    """"weekly falling-wedge breakdowns on BTC/USD since 2011: 6, 4 reached the measured
    move, median 9 weeks" (resolved events only; open ones said apart)."""
    text = f"{tf_label} {s.label} on {symbol} since {since}: {s.resolved} resolved"
    if s.targets:
        t = s.targets[0]
        text += f", {t.reached} reached the {t.rule}"
        if t.median_bars is not None:
            text += f" (median {t.median_bars:g} {unit})"
    text += f", {s.invalidated} invalidated, {s.failed} failed (<5% beyond entry)"
    if s.median_mae_pct is not None:
        text += f", median adverse move {s.median_mae_pct:.1f}%"
    if s.open:
        text += f"; {s.open} still open"
    return text


def signal_lines(stats: SeriesStats, signal_kinds: Sequence[tuple[str, str]],
                 tf_label: str, unit: str) -> tuple[SignalStatsLine, ...]:
    """One line per active signal: ``signal_kinds`` are (signal kind, stat kind) pairs."""
    return _lines({k.kind: k for k in stats.kinds}, signal_kinds, stats.symbol, tf_label,
                  f"{stats.first_candle:%Y}", unit, stats.source)


def _lines(by_kind: Mapping[str, KindStats], signal_kinds: Sequence[tuple[str, str]],
           symbol: str, tf_label: str, since: str, unit: str,
           source: str) -> tuple[SignalStatsLine, ...]:
    out = []
    for sig, kind in signal_kinds:
        ks = by_kind.get(kind)
        if ks is None:
            ks = aggregate(kind, ())
        out.append(SignalStatsLine(
            signal_kind=sig, stat_kind=kind,
            text=line_text(ks, symbol, tf_label, since, unit), source=source,
            walk_forward=replace(ks), bulkowski_text=bulkowski_text(kind),
            bulkowski=ks.bulkowski, chance_text=chance_text(ks)))
    return tuple(out)


def chance_text(s: KindStats, alpha: float = chance.ALPHA) -> str:
    """"23 earlier events on this market (one position at a time): 26% reached the target
    vs 28% of random entries (p 0.9: no edge shown)": the kind's ``reached_target`` test,
    one test, uncorrected."""
    t = next((t for t in s.chance if t.measure == "reached_target"), None)
    if t is None or not t.events:
        return ("no earlier event on this market has run its full horizon: nothing to compare "
                "with random entries")
    text = (f"{t.events} earlier event{'s' if t.events != 1 else ''} on this market (one "
            "position at a time): "
            f"{t.value:.0f}% reached the target vs {t.random:.0f}% of random entries")
    # the single test's verdict (a scan has no table to correct over)
    return text + f" (p {t.p_value:.2g}: {chance.verdict(replace(t, p_holm=None), alpha)})"


def stat_kind_of_divergence(signal_kind: str) -> str:
    return _DIVERGENCE[signal_kind]
