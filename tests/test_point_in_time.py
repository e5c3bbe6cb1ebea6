"""Causality of the core scan by replay: a scan as of t equals a scan of the data cut at t."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import polars as pl
import pytest

from btcscan.analysis.series import analyse
from btcscan.api import parse_asof
from btcscan.data.sample import load_sample
from btcscan.timeframes import parse_timeframe

DATES = [
    "2013-12-04",
    "2017-12-17",
    "2018-12-15",
    "2021-04-14",
    "2021-11-10",
    "2022-11-21",
    "2024-03-13",
    "2025-03-10",
    "2025-06-30",
    "2025-10-08",
    "2025-11-24",
]


@pytest.fixture(scope="module")
def btc():
    return load_sample("BTC/USD")


@pytest.mark.parametrize("tf", ["1d", "1w", "1M"])
@pytest.mark.parametrize("day", DATES)
def test_scan_asof_equals_scan_of_truncated_history(btc, tf, day):
    asof = parse_asof(day)
    cut = replace(
        btc,
        frame=btc.frame.filter(pl.col("open_time") < datetime.fromtimestamp(asof / 1000, tz=UTC)),
    )
    a = analyse(btc, parse_timeframe(tf), asof)
    b = analyse(cut, parse_timeframe(tf), None)
    assert a == b


def test_every_weekly_state_is_stable_under_replay(btc):
    """Replay weekly history: what the scan says about week k never changes later."""
    tf = parse_timeframe("1w")
    seen: dict = {}
    for day in pl.date_range(datetime(2016, 1, 3), datetime(2026, 4, 12), "7d", eager=True):
        r = analyse(btc, tf, parse_asof(day.isoformat()))
        key = r.last_closed.open_time
        facts = (
            r.last_closed,
            tuple((s.period, s.value, s.state, s.closes) for s in r.smas),
            r.rsi.value,
        )
        assert seen.setdefault(key, facts) == facts
    assert len(seen) > 500
