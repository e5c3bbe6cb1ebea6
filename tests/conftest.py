import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # reference.py, synth.py

SAMPLE = Path(__file__).parents[1] / "btcscan" / "data" / "sample" / "bitstamp_btc-usd_1d.parquet"


def _arrays(df: pl.DataFrame) -> dict[str, np.ndarray]:
    out = {c: df[c].to_numpy().astype(np.float64) for c in ("open", "high", "low", "close", "volume")}
    out["open_time"] = df["open_time"].dt.epoch("ms").to_numpy()
    return out


@pytest.fixture(scope="session")
def btc_daily() -> dict[str, np.ndarray]:
    return _arrays(pl.read_parquet(SAMPLE))


@pytest.fixture(scope="session")
def btc_weekly() -> dict[str, np.ndarray]:
    df = (pl.read_parquet(SAMPLE)
          .group_by(pl.col("open_time").dt.truncate("1w"))
          .agg(pl.col("open").first(), pl.col("high").max(), pl.col("low").min(),
               pl.col("close").last(), pl.col("volume").sum())
          .sort("open_time"))
    return _arrays(df)
