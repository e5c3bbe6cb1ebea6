"""Shared fixtures for the live-data tests: a loopback exchange and fast retry settings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from exchange_server import DAY_MS, loopback_options, serve  # noqa: E402

#: The loopback exchange's clock: 2025-11-21 03:00 UTC (a Friday); the 2025-11-21 daily
#: candle is forming, the last closed one opened 2025-11-20.
NOW = 1_763_694_000_000
TODAY = NOW - NOW % DAY_MS


@pytest.fixture
def server():
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
    return loopback_options("binance", server.base, timeout=1000)


@pytest.fixture
def kraken(server):
    return loopback_options("kraken", server.base, timeout=1000)


@pytest.fixture(autouse=True)
def _no_user_dirs(tmp_path, monkeypatch):
    """Never read the developer's real cache or config."""
    monkeypatch.setenv("BTCSCAN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BTCSCAN_CONFIG", str(tmp_path / "no-config.toml"))
