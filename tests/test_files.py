"""Reading user files: timestamp forms, column names, parquet, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from btcscan.api import load_file
from btcscan.errors import DataError
from tests.conftest import write_csv

T0 = datetime(2024, 1, 1, tzinfo=UTC)
ROWS = [[1.0, 2.0, 0.5, 1.5, 10.0], [1.5, 2.5, 1.0, 2.0, 11.0], [2.0, 3.0, 1.5, 2.5, 12.0]]
SEC = [int(T0.timestamp()) + i * 86400 for i in range(3)]


@pytest.mark.parametrize(
    "stamps",
    [
        SEC,
        [s * 1000 for s in SEC],
        [s * 1_000_000 for s in SEC],
        ["2024-01-01", "2024-01-02", "2024-01-03"],
        ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"],
        ["2024-01-01 00:00:00", "2024-01-02 00:00:00", "2024-01-03 00:00:00"],
    ],
)
def test_timestamp_forms(tmp_path, stamps):
    p = write_csv(
        tmp_path / "x.csv",
        ["Date", "Open", "HIGH", "low", "Close", "Volume"],
        [[t, *r] for t, r in zip(stamps, ROWS, strict=True)],
    )
    c = load_file(p)
    assert c.frame["open_time"].to_list() == [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2, 3)]
    assert c.frame["close"].to_list() == [1.5, 2.0, 2.5]
    assert c.timeframe.text == "1d"


def test_parquet_and_hourly_inference(tmp_path):
    df = pl.DataFrame(
        {
            "timestamp": [int(T0.timestamp() * 1000) + i * 3_600_000 for i in range(3)],
            "open": [r[0] for r in ROWS],
            "high": [r[1] for r in ROWS],
            "low": [r[2] for r in ROWS],
            "close": [r[3] for r in ROWS],
            "volume": [r[4] for r in ROWS],
        }
    )
    p = tmp_path / "h.parquet"
    df.write_parquet(p)
    c = load_file(p)
    assert c.timeframe.text == "1h"
    assert c.frame["high"].to_list() == [2.0, 2.5, 3.0]


def test_cryptodatadownload_style_volume_column(tmp_path):
    p = write_csv(
        tmp_path / "cdd.csv",
        ["unix", "date", "symbol", "open", "high", "low", "close", "Volume BTC", "Volume USD"],
        [[s, "", "BTC/USD", *r[:4], r[4], r[4] * 2] for s, r in zip(SEC, ROWS, strict=True)],
    )
    c = load_file(p)
    assert c.frame["volume"].to_list() == [10.0, 11.0, 12.0]


def test_empty_file_refused(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("timestamp,open,high,low,close,volume\n")
    with pytest.raises(DataError, match="no rows"):
        load_file(p)
