"""Long-run context of one series: power law (BTC) and declines, point in time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from btcscan.analysis.cycles import current_drawdown, find_declines, rule_text
from btcscan.analysis.levels import LevelCandidate, flatten, ladder
from btcscan.analysis.powerlaw import PUBLISHED, fit_power_law, is_btc, published_power_law
from btcscan.data.resample import closed_by
from btcscan.data.schema import Candles
from btcscan.errors import UsageError
from btcscan.models import (
    ContextMetric,
    Level,
    LongRunContext,
    PowerLaw,
    ScanResult,
    SeriesReport,
)
from btcscan.settings import ScanSettings


def power_laws(base: Candles, asof_ms: int, settings: ScanSettings | None = None
               ) -> tuple[tuple[PowerLaw, ...], tuple[str, ...]]:
    """The power laws of the context (a fit on the closes of ``base`` closed by
    ``asof_ms``, then the published set) and the note saying one was forced: for BTC
    markets, or always/never when ``settings.power_law`` is True/False."""
    settings = settings or ScanSettings()
    want = is_btc(base.source.symbol) if settings.power_law is None else settings.power_law
    if not want:
        return (), ()
    if settings.power_law_published not in PUBLISHED:
        raise UsageError(f"unknown published power-law set {settings.power_law_published!r}: "
                         f"choose one of {', '.join(PUBLISHED)}")
    a = closed_by(base, asof_ms).arrays()
    t, c = a["open_time"], a["close"]
    latest = float(c[-1])
    laws = (fit_power_law(t, c, asof_ms, latest, settings.power_law_sigmas),
            published_power_law(settings.power_law_published, asof_ms, latest))
    notes = () if is_btc(base.source.symbol) else \
        ("power law forced (--power-law) on a market whose base is not BTC",)
    return laws, notes


def long_run_context(base: Candles, asof_ms: int,
                     settings: ScanSettings | None = None) -> LongRunContext:
    """Context from the closes of ``base`` (its own timeframe, usually daily) closed by
    ``asof_ms``: the :func:`power_laws`, the current drawdown and the past declines."""
    settings = settings or ScanSettings()
    a = closed_by(base, asof_ms).arrays()
    t, c = a["open_time"], a["close"]
    laws, law_notes = power_laws(base, asof_ms, settings)
    notes = list(law_notes)
    declines = find_declines(t, c, settings.decline_min_pct)
    first = datetime.fromtimestamp(int(t[0]) / 1000, tz=UTC)
    if declines and (declines[0].peak.time - first).days < 30:
        notes.append(f"the first decline's peak is within 30 days of the first candle "
                     f"({first:%Y-%m-%d}): the real peak may be earlier than the data")
    return LongRunContext(
        power_law=laws,
        drawdown=current_drawdown(t, c),
        declines=declines,
        decline_rule=rule_text(settings.decline_min_pct, base.timeframe.label()),
        notes=tuple(notes),
    )


def with_context(report: SeriesReport, ctx: LongRunContext,
                 settings: ScanSettings | None = None) -> SeriesReport:
    """``report`` with ``ctx`` attached and its power laws' levels on the ladder
    (:func:`with_power_law_levels`)."""
    from dataclasses import replace

    return replace(with_power_law_levels(report, ctx.power_law, settings), context=ctx)


def with_power_law_levels(report: SeriesReport, laws: Sequence[PowerLaw],
                          settings: ScanSettings | None = None) -> SeriesReport:
    """``report`` with the fair values and bands of ``laws`` added to its level ladder
    (kind ``power_law``), which keeps the nearest levels on each side (the report's rows
    and their grouped levels are grouped again with them)."""
    from dataclasses import replace

    settings = settings or ScanSettings()
    n_above = sum(lv.side == "above" for lv in report.levels)
    if not laws and max(n_above, len(report.levels) - n_above) <= settings.ladder_size:
        return report  # nothing to add: the ladder would come out as is
    from btcscan.analysis.series import group_distance

    candidates = flatten(report.levels)
    for law in laws:
        how = (f"log10 A={law.log10_a:.3f}, n={law.exponent:.3f}, "
               + ("fitted on closes up to the scan time" if law.sigma else "published"))
        candidates.append(LevelCandidate(law.fair_value, "power_law",
                                         f"power-law fair value ({law.label})", how))
        for b in law.bands:
            candidates.append(LevelCandidate(b.price, "power_law",
                                             f"power-law {b.label} ({law.label})", how))
    levels: tuple[Level, ...] = ladder(report.latest.price, candidates, settings.ladder_size,
                                       group_distance(report.atr.value, report.latest.price,
                                                      settings))
    return replace(report, levels=levels)


def metric_at(series, asof_ms: int) -> ContextMetric:
    """``series`` (a :class:`btcscan.data.metrics.MetricSeries`) as known at ``asof_ms``: its
    latest value known by then, and the change from the latest value known 30 days before."""
    known = series.known_ms
    i = int(np.searchsorted(known, asof_ms, side="right")) - 1
    if i < 0:
        return ContextMetric(series.name, series.label, None, None, None, None, None,
                             series.source, series.note or "the series starts later")
    j = int(np.searchsorted(known, asof_ms - 30 * 86_400_000, side="right")) - 1
    value = float(series.values[i])
    before = float(series.values[j]) if j >= 0 else None
    note = series.note
    if before is None:
        note = "; ".join(x for x in (note, "no value 30 days earlier") if x)
    return ContextMetric(
        name=series.name, label=series.label, value=value,
        time=datetime.fromtimestamp(int(series.time_ms[i]) / 1000, tz=UTC),
        classification=(series.classes[i] or None) if series.classes else None,
        change_30d=None if before is None else value - before,
        change_30d_pct=None if not before else (value / before - 1.0) * 100.0,
        source=series.source, note=note)


def report_with_metrics(r: SeriesReport, metrics: Sequence) -> SeriesReport:
    """``r`` with its context holding every metric of ``metrics`` as of its scan time."""
    from dataclasses import replace

    if not metrics or r.context is None:
        return r
    ms = int(r.asof.timestamp() * 1000)
    return replace(r, context=replace(r.context, metrics=tuple(metric_at(m, ms)
                                                                 for m in metrics)))


def with_metrics(result: ScanResult, metrics: Sequence) -> ScanResult:
    """``result`` with :func:`report_with_metrics` applied to each series."""
    from dataclasses import replace

    if not metrics:
        return result
    return replace(result, series=tuple(report_with_metrics(r, metrics)
                                        for r in result.series))
