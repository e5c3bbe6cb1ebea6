"""Resampling checked against weeks and months read by hand from the source CSV."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from btcscan.data.resample import closed_by, resample
from btcscan.data.sample import load_sample
from btcscan.data.schema import TIME, Candles, Source
from btcscan.errors import UsageError
from btcscan.timeframes import parse_timeframe


def ms(s: str) -> int:
    return int(datetime.fromisoformat(s).replace(tzinfo=UTC).timestamp() * 1000)


def row_at(c: Candles, day: str) -> dict:
    f = c.frame.filter(pl.col(TIME) == datetime.fromisoformat(day).replace(tzinfo=UTC))
    assert f.height == 1, f"no candle opening {day}"
    return f.row(0, named=True)


@pytest.fixture(scope="module")
def btc():
    return load_sample("BTC/USD")


def test_week_of_2025_10_06_hand_checked(btc):
    # Bitstamp daily rows 2025-10-06 (Mon) .. 2025-10-12 (Sun), read from btcusd_1d.csv:
    # open 123519 on Monday, highest high 126272 (Mon), lowest low 109683 (Fri 10-10 crash
    # wick), close 115090 on Sunday, volumes summed by hand.
    w = resample(btc, parse_timeframe("1w"), ms("2026-01-01"))
    r = row_at(w, "2025-10-06")
    assert (r["open"], r["high"], r["low"], r["close"]) == (123519.0, 126272.0, 109683.0, 115090.0)
    assert r["volume"] == pytest.approx(20375.7242194, rel=1e-12)


def test_weeks_open_on_monday(btc):
    w = resample(btc, parse_timeframe("1w"), ms("2026-01-01"))
    assert set(w.frame[TIME].dt.weekday().unique().to_list()) == {1}  # polars: Monday == 1


def test_february_2024_is_a_calendar_month(btc):
    # 29 daily rows 2024-02-01..2024-02-29: open 42548 (Feb 1), close 61161 (Feb 29),
    # high 64000 and low 41859 found by scanning the rows with awk.
    m = resample(btc, parse_timeframe("1M"), ms("2026-01-01"))
    r = row_at(m, "2024-02-01")
    assert (r["open"], r["high"], r["low"], r["close"]) == (42548.0, 64000.0, 41859.0, 61161.0)
    nxt = row_at(m, "2024-03-01")
    assert nxt["open"] == 61161.0  # March 1 opens where February closed on Bitstamp


def test_forming_period_is_dropped():
    # Data through Wednesday 2024-01-03 (end of day): the week of Monday 2024-01-01 is not closed.
    f = _frame(["2023-12-25", "2023-12-26", "2023-12-27", "2023-12-28", "2023-12-29",
                "2023-12-30", "2023-12-31", "2024-01-01", "2024-01-02", "2024-01-03"])
    w = resample(f, parse_timeframe("1w"), ms("2024-01-04"))
    assert w.frame[TIME].to_list() == [datetime(2023, 12, 25, tzinfo=UTC)]
    r = w.frame.row(0, named=True)
    assert (r["open"], r["high"], r["low"], r["close"]) == (1.0, 7.5, 0.5, 7.0)
    # a week closes exactly at Monday 00:00 of the next week
    w2 = resample(f, parse_timeframe("1w"), ms("2024-01-01"))
    assert w2.frame.height == 1


def test_short_buckets_are_reported_not_filled():
    f = _frame(["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-06", "2024-01-07"])
    w = resample(f, parse_timeframe("1w"), ms("2024-01-08"))
    assert w.frame.height == 1
    assert any("fewer 1d candles" in n for n in w.notes)


def test_three_day_buckets_align_to_epoch(btc):
    d3 = resample(btc, parse_timeframe("3d"), ms("2026-01-01"))
    days = d3.frame[TIME].dt.epoch("ms") // 86_400_000
    assert (days % 3 == 0).all()


def test_finer_or_incompatible_timeframes_are_refused(btc):
    with pytest.raises(UsageError, match="finer than the data"):
        resample(btc, parse_timeframe("4h"), ms("2026-01-01"))
    with pytest.raises(UsageError, match="unknown timeframe"):
        parse_timeframe("1x")
    d3 = resample(btc, parse_timeframe("3d"), ms("2026-01-01"))
    with pytest.raises(UsageError, match="cannot build 1w"):
        resample(d3, parse_timeframe("1w"), ms("2026-01-01"))


def test_closed_by_keeps_only_closed_candles(btc):
    cut = closed_by(btc, ms("2025-06-30T12:00"))
    assert cut.frame[TIME][-1] == datetime(2025, 6, 29, tzinfo=UTC)


def _frame(days: list[str]) -> Candles:
    n = len(days)
    frame = pl.DataFrame({
        TIME: [datetime.fromisoformat(d).replace(tzinfo=UTC) for d in days],
        "open": [float(i + 1) for i in range(n)],
        "high": [float(i + 1) + 0.5 for i in range(n)],
        "low": [float(i + 1) - 0.5 for i in range(n)],
        "close": [float(i + 1) for i in range(n)],
        "volume": [1.0] * n,
    }).with_columns(pl.col(TIME).dt.cast_time_unit("ms"))
    return Candles(frame=frame, timeframe=parse_timeframe("1d"), source=Source("file", "T"))


def test_a_partial_first_period_is_not_a_gap_but_a_missing_day_is():
    """Data from Thursday 2024-01-04: its first week holds 4 of 7 days (said, not a gap); a
    day missing in the third week is a gap."""
    days = [f"2024-01-{d:02d}" for d in range(4, 22) if d != 17]
    w = resample(_frame(days), parse_timeframe("1w"), ms("2024-01-22"))
    assert w.frame.height == 3
    assert ("the 1w candle of 2024-01-01 holds 4 of its 7 1d candles: the data begins inside "
            "that period") in w.notes
    gap = [n for n in w.notes if "gaps in the source" in n]
    assert gap == ["1 1w candle(s) built from fewer 1d candles than the period holds (gaps in "
                   "the source, not filled), e.g. 2024-01-15"]
    month = resample(_frame(days), parse_timeframe("1M"), ms("2024-02-01"))
    assert month.frame.height == 1
    assert any("gaps in the source" in n for n in month.notes)  # the 17th is missing
    assert not any("data begins" in n for n in month.notes)  # 4..21: holds 17 of 18 in span
