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
                rows.append(
                    {
                        "t": datetime.fromtimestamp(int(r["timestamp_ms_utc"]) / 1000, tz=UTC),
                        **{k: float(r[k]) for k in ("open", "high", "low", "close", "volume")},
                    }
                )
    else:  # pragma: no cover - the CI checkout always has shared/ beside the repo
        from btcscan.data.sample import load_sample

        for r in load_sample().frame.iter_rows(named=True):
            rows.append(
                {
                    "t": r["open_time"],
                    **{k: r[k] for k in ("open", "high", "low", "close", "volume")},
                }
            )
    return rows


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


# -- live market data (issue #3): a loopback exchange and fast retry settings ----------------


@pytest.fixture
def server():
    """Binance's and Kraken's REST candle APIs on 127.0.0.1 (see tests/exchange_server.py)."""
    from tests.exchange_server import DAY_MS, NOW, TODAY, serve

    srv = serve(NOW)
    srv.add_market("BTC/USDT", TODAY - 2500 * DAY_MS)
    srv.add_market("ETH/USDT", TODAY - 300 * DAY_MS)
    srv.add_market("BTC/USD", TODAY - 2500 * DAY_MS)
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def fast_retry(monkeypatch):
    """Retries in milliseconds, a 4 s budget: the fault tests stay quick."""
    from btcscan.data import fetch

    policy = fetch.RetryPolicy(attempts=4, base_s=0.01, cap_s=0.05, budget_s=4.0)
    monkeypatch.setattr(fetch, "DEFAULT_RETRY", policy)
    monkeypatch.setattr("btcscan.data.market.DEFAULT_RETRY", policy)
    return policy


@pytest.fixture
def binance(server):
    """An [exchanges.binance] config table pointing the real ccxt client at the server."""
    from tests.exchange_server import loopback_options

    return loopback_options("binance", server.base, timeout=1000)


@pytest.fixture
def kraken(server):
    from tests.exchange_server import loopback_options

    return loopback_options("kraken", server.base, timeout=1000)


@pytest.fixture(autouse=True)
def _no_user_dirs(tmp_path, monkeypatch):
    """Never read or write the developer's real candle cache or config."""
    monkeypatch.setenv("BTCSCAN_CACHE_DIR", str(tmp_path / "btcscan-cache"))
    # the default config location, empty (BTCSCAN_CONFIG naming a missing file is an error)
    monkeypatch.delenv("BTCSCAN_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


# --- pattern engine fixtures (issue #4) --------------------------------------------------

SAMPLE = REPO / "btcscan" / "data" / "sample" / "bitstamp_btc-usd_1d.parquet"


def _arrays(df):
    import numpy as np

    out = {
        c: df[c].to_numpy().astype(np.float64) for c in ("open", "high", "low", "close", "volume")
    }
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

    df = (
        pl.read_parquet(SAMPLE)
        .group_by(pl.col("open_time").dt.truncate("1w"))
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
        )
        .sort("open_time")
    )
    return _arrays(df)
