"""One series, point in time: candles closed by ``asof`` -> :class:`SeriesReport`."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from btcscan.analysis.levels import (
    LevelCandidate,
    date_of,
    ladder,
    lowest_close_since,
    previous_period_levels,
    round_label,
    round_levels,
    round_step,
    sma_state,
    swing_levels,
    utc_time,
)
from btcscan.data.resample import closed_by, resample
from btcscan.data.schema import Candles, gaps
from btcscan.errors import DataError
from btcscan.indicators import rsi, rsi_scale, scale_note
from btcscan.kernels.rolling import atr, sma
from btcscan.models import CandleRef, Indicator, PricePoint, SeriesReport
from btcscan.patterns.params import PatternParams
from btcscan.settings import ScanSettings
from btcscan.timeframes import DAY_MS, Timeframe


def ms_to_dt(ms: int | float) -> datetime:
    return utc_time(int(ms))


def fmt_date(ms: int) -> str:
    return date_of(int(ms))


def _change_pct(times_close_ms: np.ndarray, close: np.ndarray, days: int) -> float | None:
    """Latest close vs the last close at or before ``days`` days earlier (None if no history)."""
    target = times_close_ms[-1] - days * DAY_MS
    j = int(times_close_ms.searchsorted(target, side="right")) - 1
    if j < 0:
        return None
    return (float(close[-1]) / float(close[j]) - 1.0) * 100.0


def _value(x: float) -> float | None:
    """An indicator's last value as a float; None during its warm-up (NaN)."""
    v = float(x)
    return None if math.isnan(v) else v


def group_distance(atr_last: float | None, price: float, settings: ScanSettings) -> float:
    """Ladder rows group levels this close (price units): ``level_group_atr`` ATRs, at
    most ``level_group_max_pct`` percent of the price (0 without an ATR)."""
    if atr_last is None:
        return 0.0
    return min(settings.level_group_atr * atr_last, settings.level_group_max_pct / 100 * price)


def _drawn_levels(ta: dict, log: dict[str, np.ndarray], p: PatternParams,
                  settings: ScanSettings, tf_label: str) -> list:
    """Confirmed swing highs and lows of the scanned candles, from the zig-zag pivot
    ``log`` of the patterns' pivot settings ``p``."""
    rule = (f"{tf_label} zig-zag pivot {p.pivot_left}/{p.pivot_right}, swing >= "
            f"{p.min_swing_atr:g} ATR")
    return swing_levels(log, ta["close"].size - 1, settings.swing_lookback_bars,
                        np.asarray(ta["open_time"], dtype=np.int64), tf_label, rule)


def data_span_ms(candles: Candles) -> tuple[int, int]:
    """(first candle's close time, last candle's close time) in UTC ms."""
    t = candles.arrays()["open_time"]
    tf = candles.timeframe
    return tf.period_end_ms(int(t[0])), tf.period_end_ms(int(t[-1]))


def analyse(
    base: Candles, timeframe: Timeframe, asof_ms: int | None, settings: ScanSettings | None = None,
    *, detail: bool = True,
) -> SeriesReport:
    """Scan one series as of ``asof_ms`` (default: the close of its last candle).

    Only candles closed by ``asof_ms`` are used: the finest data gives the latest price;
    the ``timeframe`` candles (resampled when coarser than the data) give every indicator,
    level and state. ``detail=False`` leaves out the walk-forward stats lines (``stats`` is
    None), which only the full report and the machine formats read.
    """
    settings = settings or ScanSettings()
    where = base.source.label
    first_close, last_close = data_span_ms(base)
    if asof_ms is None:
        asof_ms = last_close
    if asof_ms < first_close:
        raise DataError(
            f"{where}: --asof {ms_to_dt(asof_ms):%Y-%m-%d %H:%M} UTC is before the first candle "
            f"closed ({ms_to_dt(first_close):%Y-%m-%d %H:%M}); pick a later date"
        )
    if asof_ms > last_close:
        raise DataError(
            f"{where}: --asof {ms_to_dt(asof_ms - 1):%Y-%m-%d} is after the data ends "
            f"(last candle closed {ms_to_dt(last_close):%Y-%m-%d %H:%M} UTC); pick an earlier date "
            "or get newer data"
        )
    # every candle closed by then (the usual scan of the latest data): the candles as they
    # are, as closed_by returns them; at their own timeframe, resample does too
    fine = base if asof_ms >= last_close else closed_by(base, asof_ms)
    tfc = fine if timeframe.text == base.timeframe.text else resample(base, timeframe, asof_ms)
    warnings: list[str] = list(base.warnings)
    notes = list(tfc.notes)

    fa = fine.arrays()
    ta = tfc.arrays()
    close = ta["close"]
    need = max(settings.rsi_period, settings.atr_period) + 1
    if close.size < need:
        raise DataError(
            f"{where}: only {close.size} {timeframe} candle(s) closed by "
            f"{ms_to_dt(asof_ms):%Y-%m-%d %H:%M} UTC; the indicators need at least {need}: "
            "use a finer --timeframe, a later --asof or more history"
        )
    tf_label = timeframe.label()
    if base.timeframe.is_calendar:
        base_close_all = np.array([base.timeframe.period_end_ms(int(t)) for t in fa["open_time"]])
    else:
        base_close_all = np.asarray(fa["open_time"], dtype=np.int64) + base.timeframe.ms

    latest_price = float(fa["close"][-1])
    latest = PricePoint(
        price=latest_price,
        time=ms_to_dt(base_close_all[-1]),
        method=f"close of the {base.timeframe.label()} candle of {fmt_date(fa['open_time'][-1])}, "
        "the last one closed by the scan time",
    )
    last_open = int(ta["open_time"][-1])
    last_closed = CandleRef(
        open_time=ms_to_dt(last_open),
        close_time=ms_to_dt(timeframe.period_end_ms(last_open)),
        close=float(close[-1]),
    )
    i_ath = int(fa["high"].argmax())
    ath = PricePoint(
        price=float(fa["high"][i_ath]),
        time=ms_to_dt(fa["open_time"][i_ath]),
        method=f"highest {base.timeframe.label()} high up to the scan time",
    )

    scale = rsi_scale(close)
    r = rsi(close, settings.rsi_period, scale=scale)
    a = atr(ta["high"], ta["low"], close, settings.atr_period)
    smas = [sma_state(close, sma(close, p), p, latest_price, tf_label)
            for p in settings.sma_periods]
    for st in smas:
        if st.value is None:
            warnings.append(
                f"SMA {st.period} needs {st.period} {tf_label} closes; only "
                f"{close.size} so far, so it is not shown"
            )
    warm = settings.rsi_warmup_periods * settings.rsi_period
    if close.size - 1 < warm:
        warnings.append(
            f"RSI {settings.rsi_period} is seeded from only {close.size - 1} {tf_label} changes "
            f"(fewer than {warm}); Wilder's recursion remembers its seed, so it may differ from "
            "a chart with longer history"
        )
    missing, first_gaps = (
        gaps(np.asarray(fa["open_time"]), base.timeframe.ms)
        if not base.timeframe.is_calendar
        else (0, [])
    )
    if missing:
        notes.append(
            f"{missing} {base.timeframe} candle(s) missing in the source (not filled), "
            f"e.g. {', '.join(first_gaps)}"
        )

    candidates: list[LevelCandidate] = []
    for st in smas:
        if st.value is not None:
            candidates.append(LevelCandidate(st.value, "sma", f"SMA {st.period} ({tf_label})",
                                             st.method))
    atr_last = _value(a[-1])
    step = round_step(latest_price, atr_last)
    step_how = f"multiple of {step:,.10g}" + (" (step >= 1 ATR)" if atr_last is not None
                                              else "")
    candidates += [LevelCandidate(lv, "round", round_label(lv, major), step_how)
                   for lv, major in round_levels(latest_price, settings.ladder_size, step)]
    candidates.append(LevelCandidate(ath.price, "ath",
                                     f"all-time high ({fmt_date(fa['open_time'][i_ath])})",
                                     ath.method, int(fa["open_time"][i_ath])))
    # the swing levels read the patterns' zig-zag (their pivot settings: settings.patterns,
    # else the defaults); with patterns on, the engine's own, and the engine reads this
    # scan's ATR and RSI when their periods are the same: each computed once
    p = settings.patterns or PatternParams()
    a_p = a if p.atr_period == settings.atr_period else atr(ta["high"], ta["low"], close,
                                                            p.atr_period)
    records = None
    if settings.patterns is not None:  # wedges and RSI divergences (btcscan.patterns)
        from btcscan.patterns.engine import pattern_bars, pattern_records
        from btcscan.patterns.engine import pattern_report as report_of

        bars = pattern_bars(ta)
        records = pattern_records(*bars[:3], p, atr=a_p,
                                  rsi=r if p.rsi_period == settings.rsi_period else None)
        log = records.log
    else:
        from btcscan.kernels.pivots import zigzag

        log = zigzag(ta["high"], ta["low"], a_p, p.pivot_left, p.pivot_right, p.min_swing_atr)
    candidates += _drawn_levels(ta, log, p, settings, tf_label)
    base_label = base.timeframe.label()
    fine_open = np.asarray(fa["open_time"], dtype=np.int64)
    if base.timeframe.ms <= DAY_MS:
        candidates += previous_period_levels(fine_open, base_close_all, fa["high"], fa["low"],
                                             asof_ms, base_label)
    candidates += lowest_close_since(fine_open, fa["close"], i_ath, base_label)
    pattern_report = None
    if records is not None:
        pattern_report = report_of(*bars, p, records)
        for plv in pattern_report.levels:
            candidates.append(LevelCandidate(plv.price, plv.kind, plv.label, plv.source))
    levels = ladder(latest_price, candidates, settings.ladder_size,
                    group_distance(atr_last, latest_price, settings))
    near = settings.round_proximity_pct
    for row in levels:
        for lv in (row, *row.grouped) if row.grouped else (row,):
            if lv.kind == "round" and (d := abs(lv.price / latest_price - 1) * 100) <= near:
                notes.append(f"price is within {d:.1f}% of the {lv.label}")

    stats = None
    # walk-forward stats lines beside the active signals (issue #7); the scoring code loads
    # only when a line is due
    if detail and pattern_report is not None and settings.signal_stats:
        from btcscan.stats.active import active_signal_kinds

        if active_signal_kinds(pattern_report, smas):
            from btcscan.stats.run import scan_signal_stats

            stats = scan_signal_stats(ta, pattern_report, smas, base.source, timeframe,
                                      settings.sma_periods, settings.stats_horizon)
    first_open = int(ta["open_time"][0])
    return SeriesReport(
        source=base.source,
        timeframe=timeframe.text,
        asof=ms_to_dt(asof_ms),
        candles=int(close.size),
        first_candle=ms_to_dt(first_open),
        last_closed=last_closed,
        latest=latest,
        ath=ath,
        drawdown_pct=(latest_price / ath.price - 1.0) * 100.0,
        change_7d_pct=_change_pct(base_close_all, fa["close"], 7),
        change_30d_pct=_change_pct(base_close_all, fa["close"], 30),
        rsi=Indicator(
            name=f"RSI {settings.rsi_period}",
            value=_value(r[-1]),
            method=f"Wilder RSI({settings.rsi_period}) on {tf_label} closes, seeded with the "
            f"simple mean of the first {settings.rsi_period} changes (TA-Lib convention)"
            + scale_note(scale),
        ),
        atr=Indicator(
            name=f"ATR {settings.atr_period}",
            value=atr_last,
            method=f"Wilder ATR({settings.atr_period}) of {tf_label} true ranges "
            "(TA-Lib convention)",
        ),
        smas=tuple(smas),
        levels=levels,
        notes=tuple(notes),
        warnings=tuple(warnings),
        patterns=pattern_report,
        stats=stats,
    )
