"""Point-in-time cuts and resampling of candles to coarser timeframes.

* :func:`closed_by` keeps only candles closed by ``asof_ms`` (``open + timeframe <= asof``).
* :func:`resample` builds 1d, 3d, 1w or 1M candles from finer ones: weeks open Monday
  00:00 UTC, months are calendar months, 3-day buckets align to the Unix epoch. A bucket
  is kept only when its period has ended by ``asof_ms`` (the forming one is dropped), and
  buckets with missing source candles are reported in the notes, never filled.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from btcscan.data.schema import TIME, Candles, epoch_ms
from btcscan.errors import UsageError
from btcscan.timeframes import DAY_MS, Timeframe


def closed_by(candles: Candles, asof_ms: int) -> Candles:
    """Candles whose period ended at or before ``asof_ms`` (UTC ms)."""
    tf = candles.timeframe
    f = candles.frame
    if f.height and tf.period_end_ms(int(epoch_ms(f[TIME])[-1])) <= asof_ms:
        return candles  # all closed (the usual scan of the latest data): nothing to cut
    if tf.is_calendar:
        end = pl.col(TIME).dt.offset_by(tf.polars_every)
    else:
        end = pl.col(TIME) + pl.duration(milliseconds=tf.ms)
    return replace(candles, frame=f.filter(end.dt.epoch("ms") <= asof_ms))


def check_resample(base: Timeframe, target: Timeframe) -> None:
    """Raise :class:`UsageError` unless ``target`` can be built from whole ``base`` candles."""
    if target.is_calendar:
        ok = not base.is_calendar and DAY_MS % base.ms == 0
    elif base.is_calendar:
        ok = False
    else:
        ok = target.ms >= base.ms and target.ms % base.ms == 0
        if ok and target.unit == "w":
            ok = (7 * DAY_MS) % base.ms == 0 and base.ms <= DAY_MS
    if target.ms < base.ms and not (target.is_calendar and not base.is_calendar):
        raise UsageError(
            f"timeframe {target} is finer than the data ({base}): pick {base} or coarser"
        )
    if not ok:
        raise UsageError(
            f"cannot build {target} candles from {base} candles: pick 1d, 3d, 1w or 1M"
        )


def resample(candles: Candles, target: Timeframe, asof_ms: int) -> Candles:
    """Aggregate ``candles`` to ``target``; only periods ended by ``asof_ms`` are kept."""
    base = candles.timeframe
    if target.text == base.text:
        return closed_by(candles, asof_ms)
    check_resample(base, target)
    every = target.polars_every
    f = candles.frame
    bucket = pl.col(TIME).dt.truncate(every)
    agg = (
        f.group_by(bucket.alias("bucket"), maintain_order=True)
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
            pl.len().alias("n"),
        )
        .with_columns(end=pl.col("bucket").dt.offset_by(every))
        .filter(pl.col("end").dt.epoch("ms") <= asof_ms)
    )
    if target.is_calendar:
        expected = (pl.col("end") - pl.col("bucket")).dt.total_milliseconds() // base.ms
    else:
        expected = pl.lit(target.ms // base.ms)
    agg = agg.with_columns(expected=expected)
    # The first and last buckets of the data may be partial because the data begins or ends
    # inside their period (a history starting on a Thursday): that is not a gap. Those two
    # are held against the candles the period could hold within the data's span.
    span_first = int(epoch_ms(f[TIME])[0]) if f.height else 0
    span_end = int(epoch_ms(f[TIME])[-1]) + base.ms if f.height else 0
    in_span = ((pl.min_horizontal(pl.col("end").dt.epoch("ms"), pl.lit(span_end))
                - pl.max_horizontal(pl.col("bucket").dt.epoch("ms"), pl.lit(span_first)))
               // base.ms)
    agg = agg.with_columns(in_span=in_span)
    short = agg.filter(pl.col("n") < pl.col("in_span"))
    partial = agg.filter((pl.col("n") < pl.col("expected")) & (pl.col("n") >= pl.col("in_span")))
    notes = [
        f"{target} candles built from {base} candles ({target.label()}: "
        + (
            "weeks open Monday 00:00 UTC"
            if target.unit == "w"
            else "calendar months"
            if target.is_calendar
            else "buckets aligned to 1970-01-01 UTC"
        )
        + ")"
    ]
    if short.height:
        # the first bucket of a listing is often partial; say so either way
        first = short["bucket"].dt.strftime("%Y-%m-%d").head(3).to_list()
        notes.append(
            f"{short.height} {target} candle(s) built from fewer {base} candles than the period "
            f"holds (gaps in the source, not filled), e.g. {', '.join(first)}"
        )
    for row in partial.iter_rows(named=True):
        edge = "begins" if int(row["bucket"].timestamp() * 1000) < span_first else "ends"
        notes.append(
            f"the {target} candle of {row['bucket']:%Y-%m-%d} holds {row['n']} of its "
            f"{row['expected']} {base} candles: the data {edge} inside that period"
        )
    frame = agg.select(pl.col("bucket").alias(TIME), "open", "high", "low", "close", "volume")
    return replace(candles, frame=frame, timeframe=target, notes=candles.notes + tuple(notes))
