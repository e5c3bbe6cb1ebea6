from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def btc_rows() -> list[dict]:
    """The bundled BTC/USD daily history read with the csv module (independent of polars).

    Read from the package's parquet via pyarrow-free polars would not be independent, so
    this reads the original CSV in ../shared/data when present, else the parquet."""
    src = SHARED_DATA / "btcusd_1d.csv"
    rows = []
    if src.exists():
        with src.open() as fh:
            for r in csv.DictReader(fh):
                rows.append({
                    "t": datetime.fromtimestamp(int(r["timestamp_ms_utc"]) / 1000, tz=UTC),
                    **{k: float(r[k]) for k in ("open", "high", "low", "close", "volume")},
                })
    else:  # pragma: no cover - the CI checkout always has shared/ beside the repo
        from btcscan.data.sample import load_sample

        for r in load_sample().frame.iter_rows(named=True):
            rows.append({"t": r["open_time"], **{k: r[k] for k in ("open", "high", "low", "close", "volume")}})
    return rows


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


# --- pattern engine fixtures (issue #4) --------------------------------------------------

SAMPLE = REPO / "btcscan" / "data" / "sample" / "bitstamp_btc-usd_1d.parquet"


def _arrays(df):
    import numpy as np

    out = {c: df[c].to_numpy().astype(np.float64) for c in ("open", "high", "low", "close",
                                                             "volume")}
    out["open_time"] = df["open_time"].dt.epoch("ms").to_numpy()
    return out


@pytest.fixture(scope="session")
def btc_daily():
    """Bundled BTC/USD daily candles as the arrays ``Candles.arrays()`` returns."""
    import polars as pl

    return _arrays(pl.read_parquet(SAMPLE))


@pytest.fixture(scope="session")
def btc_weekly():
    """The same, resampled to Monday weeks (first open, max high, min low, last close)."""
    import polars as pl

    df = (pl.read_parquet(SAMPLE)
          .group_by(pl.col("open_time").dt.truncate("1w"))
          .agg(pl.col("open").first(), pl.col("high").max(), pl.col("low").min(),
               pl.col("close").last(), pl.col("volume").sum())
          .sort("open_time"))
    return _arrays(df)
