"""api.scan_markets over the candle cache (issue #6): however the watchlist is chunked (the
next chunk loaded while this one is scanned), the reports and the failed markets are the
same, in the same order, as scanning each market alone."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from btcscan import api
from btcscan.data import cache
from btcscan.data.market import load_markets
from btcscan.data.schema import SCHEMA
from btcscan.errors import BtcscanError
from btcscan.render.serial import to_jsonable
from btcscan.settings import ScanSettings

DAY = 86_400_000
NOW = 1_767_225_600_000  # 2026-01-01: every candle below is closed


def _store(root, symbol: str, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0005, 0.03, n)))
    open_ = np.r_[close[0], close[:-1]]
    frame = pl.DataFrame({
        "open_time": NOW - n * DAY + DAY * np.arange(n, dtype=np.int64), "open": open_,
        "high": np.maximum(open_, close) * (1 + rng.random(n) * 0.02),
        "low": np.minimum(open_, close) * (1 - rng.random(n) * 0.02), "close": close,
        "volume": rng.random(n) * 1e6,
    }).with_columns(pl.from_epoch("open_time", "ms").dt.replace_time_zone("UTC")).cast(SCHEMA)
    cache.store(root, "binance", symbol, "1d", frame)


@pytest.fixture(scope="module")
def watchlist(tmp_path_factory):
    """12 cached markets, one of them too short to scan, one corrupt file, one missing."""
    root = tmp_path_factory.mktemp("cache")
    symbols = []
    for i in range(12):
        sym = f"M{i:02d}/USDT"
        _store(root, sym, 10 if i == 4 else 400 + 40 * i, seed=i)
        symbols.append(sym)
    cache.cache_path(root, "binance", "M07/USDT", "1d").write_bytes(b"not parquet")
    symbols.insert(9, "GONE/USDT")
    return root, symbols


def _scan(root, symbols, **kw):
    return api.scan_markets(symbols, exchange="binance", timeframe="1d",
                            settings=ScanSettings(timeframe="1d"),
                            load_kwargs={"offline": True, "cache_dir": root, "now_ms": NOW}, **kw)


def test_chunks_give_the_reports_of_markets_scanned_alone(watchlist):
    root, symbols = watchlist
    alone = []
    for s in symbols:
        (c,) = load_markets([s], timeframe="1d", offline=True, cache_dir=root, now_ms=NOW)
        if not isinstance(c, BtcscanError):
            try:
                alone.append(api.scan_candles([c], timeframe="1d",
                                              settings=ScanSettings(timeframe="1d")).series[0])
            except BtcscanError:
                pass
    one = _scan(root, symbols)
    assert len(one.series) == len(alone) == 10
    assert to_jsonable(one.series) == to_jsonable(tuple(alone))
    # in a chunk, the markets that failed to load come before those that failed to scan
    assert [(e["source"], e["exit_code"]) for e in one.errors] == [
        ("binance:M07/USDT", 7), ("binance:GONE/USDT", 4), ("binance:M04/USDT", 4)]
    for chunk in (1, 2, 5):
        res = _scan(root, symbols, chunk=chunk)
        assert to_jsonable(res.series) == to_jsonable(one.series), chunk
        assert sorted(map(str, res.errors)) == sorted(map(str, one.errors)), chunk
