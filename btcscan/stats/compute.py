"""Score event rows with :func:`btcscan.kernels.outcomes.score_events` and aggregate them.

Counting rules (stated in ``docs/stats.md``): an event is *open* when the data ends before
its horizon and it has neither reached its first target nor been invalidated; open events
are counted apart and left out of every other figure. A target counts as reached when a
later candle touches it before the invalidation is touched and within the horizon (when
both happen inside one candle, the invalidation counts: the kernel's conservative rule).
Excursions and Bulkowski failures are the kernel's (see :mod:`btcscan.kernels.outcomes`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from btcscan.kernels.outcomes import EXPIRED, INVALIDATED, OPEN, STATUS_NAMES, TARGET, score_events
from btcscan.stats.bulkowski import BULKOWSKI
from btcscan.stats.chance import KindSample, chance_tests, kind_sample
from btcscan.stats.rules import (
    KIND_LABELS,
    MAX_TARGETS,
    SMA_PERIODS,
    EventRow,
    LeanRow,
    event_rows,
    kind_rows,
)
from btcscan.stats.types import KindStats, ScoredEvent, ScoredTarget, SeriesStats, TargetStats

FAIL_PCT = 5.0
#: the measure against chance a scan's line reads (btcscan.stats.run.chance_text)
SCAN_MEASURES = ("reached_target",)


def score_rows(
    rows: Sequence[EventRow],
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    horizon: int,
    fail_pct: float = FAIL_PCT,
    times: np.ndarray | None = None,
) -> list[ScoredEvent]:
    """Score every row in one kernel call; ``bar`` indexes ``high``/``low``/``close`` (and
    ``times``, candle open times in UTC ms, which fill ``known_at_ms``/``outcome_ms``;
    without them both are 0/None)."""
    m = len(rows)
    targets = np.full((m, MAX_TARGETS), np.nan)
    for e, r in enumerate(rows):
        for t, (price, _, _) in enumerate(r.targets[:MAX_TARGETS]):
            targets[e, t] = price
    out = score_events(
        high,
        low,
        close,
        np.array([r.bar for r in rows], dtype=np.int64),
        np.array([r.direction for r in rows], dtype=np.int64),
        targets,
        np.array([r.invalidation for r in rows], dtype=np.float64),
        horizon,
        fail_pct,
        np.array([r.on_close for r in rows], dtype=np.bool_),
    )
    scored = []
    tl = times.tolist() if times is not None else None
    n = close.shape[0]
    # plain Python lists once: indexing numpy scalars per event dominated the cost
    target_bar, status_code = out["target_bar"].tolist(), out["status"].tolist()
    invalid_bar, mae, mfe = (
        out["invalid_bar"].tolist(),
        out["mae_pct"].tolist(),
        out["mfe_pct"].tolist(),
    )
    failed = out["failed"].tolist()
    for e, r in enumerate(rows):
        tg = []
        for t, (price, rule, text) in enumerate(r.targets[:MAX_TARGETS]):
            b = target_bar[e][t]
            tg.append(
                ScoredTarget(
                    price=float(price),
                    rule=rule,
                    rule_text=text,
                    reached_bar=b if b >= 0 else None,
                    bars_to_reach=b - r.bar if b >= 0 else None,
                )
            )
        status = STATUS_NAMES[status_code[e]]
        if status == "reached_target":
            ob = tg[0].reached_bar
        elif status == "invalidated":
            ob = invalid_bar[e]
        elif status == "expired":
            ob = r.bar + horizon
        else:
            ob = None
        scored.append(
            ScoredEvent(
                kind=r.kind,
                direction="long" if r.direction > 0 else "short",
                known_at_bar=r.bar,
                known_at_ms=tl[r.bar] if tl else 0,
                entry=float(close[r.bar]),
                targets=tuple(tg),
                invalidation=None if math.isnan(r.invalidation) else float(r.invalidation),
                invalidation_rule=r.invalidation_rule,
                outcome=status,
                outcome_bar=ob,
                bars_to_outcome=None if ob is None else ob - r.bar,
                outcome_ms=tl[ob] if tl and ob is not None and ob < n else None,
                mae_pct=mae[e],
                mfe_pct=mfe[e],
                failed=failed[e],
                detail=r.detail,
            )
        )
    return scored


def _median(xs: list[float]) -> float | None:
    return float(statistics.median(xs)) if xs else None


def aggregate(kind: str, events: Iterable[ScoredEvent], markets: int = 1) -> KindStats:
    """Figures of one kind of event (see the module docstring for what counts); events of
    other kinds are ignored."""
    ev = [e for e in events if e.kind == kind]
    done = [e for e in ev if e.outcome != "open"]
    rules: list[str] = []
    for e in done:
        for t in e.targets:
            if t.rule not in rules:
                rules.append(t.rule)
    targets = []
    for rule in rules:
        hits = [
            t.bars_to_reach
            for e in done
            for t in e.targets
            if t.rule == rule and t.reached_bar is not None
        ]
        with_t = sum(1 for e in done if any(t.rule == rule for t in e.targets))
        targets.append(TargetStats(rule, with_t, len(hits), _median(hits)))
    first = [e.targets[0].bars_to_reach for e in done if e.outcome == "reached_target"]
    mae = [e.mae_pct for e in done]
    return KindStats(
        kind=kind,
        label=KIND_LABELS.get(kind, kind.replace("_", " ")),
        events=len(ev),
        open=len(ev) - len(done),
        resolved=len(done),
        reached_first_target=sum(e.outcome == "reached_target" for e in done),
        invalidated=sum(e.outcome == "invalidated" for e in done),
        expired=sum(e.outcome == "expired" for e in done),
        failed=sum(e.failed for e in done),
        targets=tuple(targets),
        median_mae_pct=_median(mae),
        worst_mae_pct=min(mae) if mae else None,
        median_mfe_pct=_median([e.mfe_pct for e in done]),
        median_bars_to_target=_median(first),
        markets=markets,
        bulkowski=BULKOWSKI.get(kind),
    )


def _aggregate_lean(kind: str, rows: Sequence[LeanRow], out: dict[str, np.ndarray]) -> KindStats:
    """:func:`aggregate` of one kind straight from the kernel's arrays (``out`` of
    :func:`score_events` over ``rows``, in order): the same figures, with no
    :class:`ScoredEvent` built per event."""
    status = out["status"].tolist()
    target_bar = out["target_bar"].tolist()
    mae_all, mfe_all, failed_all = (out["mae_pct"].tolist(), out["mfe_pct"].tolist(),
                                    out["failed"].tolist())
    done = [e for e, st in enumerate(status) if st != OPEN]
    rules: list[str] = []
    for e in done:
        for _, rule in rows[e][2]:
            if rule not in rules:
                rules.append(rule)
    targets = []
    for rule in rules:
        hits = []
        with_t = 0
        for e in done:
            bar, tg = rows[e][0], rows[e][2]
            has = False
            for t, (_, r) in enumerate(tg):
                if r == rule:
                    has = True
                    b = target_bar[e][t]
                    if b >= 0:
                        hits.append(b - bar)
            with_t += has
        targets.append(TargetStats(rule, with_t, len(hits), _median(hits)))
    first = [target_bar[e][0] - rows[e][0] for e in done if status[e] == TARGET]
    mae = [mae_all[e] for e in done]
    return KindStats(
        kind=kind,
        label=KIND_LABELS.get(kind, kind.replace("_", " ")),
        events=len(status),
        open=len(status) - len(done),
        resolved=len(done),
        reached_first_target=sum(status[e] == TARGET for e in done),
        invalidated=sum(status[e] == INVALIDATED for e in done),
        expired=sum(status[e] == EXPIRED for e in done),
        failed=sum(failed_all[e] for e in done),
        targets=tuple(targets),
        median_mae_pct=_median(mae),
        worst_mae_pct=min(mae) if mae else None,
        median_mfe_pct=_median([mfe_all[e] for e in done]),
        median_bars_to_target=_median(first),
        markets=1,
        bulkowski=BULKOWSKI.get(kind),
    )


def kind_stats(
    arrays: dict[str, np.ndarray],
    report,
    kinds: Sequence[str],
    *,
    horizon: int,
    sma_periods: tuple[int, ...] = SMA_PERIODS,
    fail_pct: float = FAIL_PCT,
) -> tuple[dict[str, KindStats], int]:
    """The :class:`KindStats` of only ``kinds`` (each equal to the one
    :func:`series_stats` gives over the same candles and report, or the empty aggregate
    when the kind has no event), and how many events :func:`series_stats` would score
    over every kind. Only the events of ``kinds`` are built and scored: what a scan needs
    for its stats lines, at a fraction of the cost (issue #6). ``chance`` holds only the
    test the scan's line reads (:data:`SCAN_MEASURES`, equal to the first of
    :func:`series_stats`'s): the others cost most of a line's time."""
    h, lo, c = (np.ascontiguousarray(arrays[k], dtype=np.float64) for k in ("high", "low", "close"))
    rows_by, total = kind_rows(report, h, lo, c, kinds, sma_periods)
    got: dict[str, KindStats] = {}
    for kind in kinds:
        if kind in got:
            continue
        rows = [(r[0], r[1], r[2][:MAX_TARGETS], r[3], r[4]) for r in rows_by.get(kind, ())]
        if not rows:
            got[kind] = aggregate(kind, ())
            continue
        tg = np.full((len(rows), MAX_TARGETS), np.nan)
        for e, r in enumerate(rows):
            for t, (price, _) in enumerate(r[2]):
                tg[e, t] = price
        out = score_events(h, lo, c, np.array([r[0] for r in rows], dtype=np.int64),
                           np.array([r[1] for r in rows], dtype=np.int64), tg,
                           np.array([r[3] for r in rows], dtype=np.float64), horizon,
                           fail_pct, np.array([r[4] for r in rows], dtype=np.bool_))
        sample = kind_sample(kind, h, lo, c, np.array([r[0] for r in rows], dtype=np.int64),
                             rows[0][1], tg, np.array([r[3] for r in rows], dtype=np.float64),
                             np.array([r[4] for r in rows], dtype=np.bool_),
                             out["status"] == TARGET, horizon)
        got[kind] = replace(_aggregate_lean(kind, rows, out),
                            chance=chance_tests([sample], measures=SCAN_MEASURES))
    return got, total


def kinds_of(events: Iterable[ScoredEvent]) -> list[str]:
    """Kinds in the fixed order of :data:`KIND_LABELS` (then any other, sorted)."""
    present = {e.kind for e in events}
    return [k for k in KIND_LABELS if k in present] + sorted(present - set(KIND_LABELS))


def walk_forward_source(symbol: str, tf_label: str, first_ms: int) -> str:
    """"btcscan walk-forward on <symbol> <tf> since <first candle's date>"."""
    return (f"btcscan walk-forward on {symbol} {tf_label} since "
            f"{np.datetime64(first_ms, 'ms').astype('datetime64[D]')}")


def series_stats(
    arrays: dict[str, np.ndarray],
    report,
    *,
    market: str,
    symbol: str,
    timeframe: str,
    tf_label: str,
    horizon: int,
    sma_periods: tuple[int, ...] = SMA_PERIODS,
) -> SeriesStats:
    """Statistics of one series from its candles (``arrays`` as ``Candles.arrays()``) and the
    pattern engine's report over those same candles (one pass; no per-prefix re-runs:
    the engine's causality test replays prefixes). Each kind carries its tests against
    random entries, uncorrected (:func:`btcscan.stats.chance.correct` corrects a table)."""
    return series_parts(arrays, report, market=market, symbol=symbol, timeframe=timeframe,
                        tf_label=tf_label, horizon=horizon, sma_periods=sma_periods)[0]


def series_parts(
    arrays: dict[str, np.ndarray],
    report,
    *,
    market: str,
    symbol: str,
    timeframe: str,
    tf_label: str,
    horizon: int,
    sma_periods: tuple[int, ...] = SMA_PERIODS,
) -> tuple[SeriesStats, dict[str, KindSample]]:
    """:func:`series_stats`, and each kind's :class:`~btcscan.stats.chance.KindSample`
    (what a pooled test over markets needs)."""
    h, lo, c = (np.ascontiguousarray(arrays[k], dtype=np.float64) for k in ("high", "low", "close"))
    t = np.asarray(arrays["open_time"], dtype=np.int64)
    rows = event_rows(report, h, lo, c, sma_periods)
    scored = score_rows(rows, h, lo, c, horizon, times=t)
    by: dict[str, list[ScoredEvent]] = {}
    for e in scored:
        by.setdefault(e.kind, []).append(e)
    samples = {k: _sample(k, rows, scored, h, lo, c, horizon) for k in by}
    first, last = int(t[0]), int(t[-1])
    source = walk_forward_source(symbol, tf_label, first)
    return SeriesStats(
        market=market,
        symbol=symbol,
        timeframe=timeframe,
        candles=int(c.size),
        first_ms=first,
        last_ms=last,
        horizon_bars=horizon,
        source=source,
        kinds=tuple(replace(aggregate(k, by[k]), chance=chance_tests([samples[k]]))
                    for k in kinds_of(scored)),
        events=tuple(scored),
    ), samples


def _sample(kind: str, rows: Sequence[EventRow], scored: Sequence[ScoredEvent], h, lo, c,
            horizon: int) -> KindSample:
    """The shift test's sample of one kind, from its rows and their scored outcomes."""
    idx = [e for e, r in enumerate(rows) if r.kind == kind]
    tg = np.full((len(idx), MAX_TARGETS), np.nan)
    for i, e in enumerate(idx):
        for t, (price, _, _) in enumerate(rows[e].targets[:MAX_TARGETS]):
            tg[i, t] = price
    return kind_sample(kind, h, lo, c, np.array([rows[e].bar for e in idx], dtype=np.int64),
                       rows[idx[0]].direction, tg,
                       np.array([rows[e].invalidation for e in idx], dtype=np.float64),
                       np.array([rows[e].on_close for e in idx], dtype=np.bool_),
                       np.array([scored[e].outcome == "reached_target" for e in idx]), horizon)


def pooled(series: Sequence[SeriesStats],
           samples: Sequence[dict[str, KindSample]] | None = None) -> tuple[KindStats, ...]:
    """Every market's events together, per kind (``markets`` = how many had that kind);
    with ``samples`` (one dict per series, from :func:`series_parts`), each kind's tests
    against random entries over the markets together (uncorrected)."""
    events = [e for s in series for e in s.events]
    out = []
    for k in kinds_of(events):
        ks = aggregate(k, events, markets=sum(any(e.kind == k for e in s.events) for s in series))
        if samples is not None:
            ks = replace(ks, chance=chance_tests([d[k] for d in samples if k in d]))
        out.append(ks)
    return tuple(out)
