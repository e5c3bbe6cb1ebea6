"""api.scan_markets over the candle cache (issue #6): however the watchlist is chunked (the
next chunk loaded while this one is scanned), the reports and the failed markets are the
same, in the same order, as scanning each market alone."""

from __future__ import annotations

import json
import time

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


def test_process_pool_gives_the_serial_result(watchlist, monkeypatch):
    """Chunks shared with a spawned worker process: the same reports and the same failed
    markets, in the same order, as the serial scan. This process is slowed down so that
    the worker (which runs the real code) certainly scans the last chunks."""
    root, symbols = watchlist
    serial = _scan(root, symbols, chunk=2)
    here = []
    real = api._scan_loaded

    def slow(job, *args):
        here.append(job[2])
        time.sleep(2.0)
        return real(job, *args)

    monkeypatch.setattr(api, "_scan_loaded", slow)
    monkeypatch.setattr(api, "POOL_MIN_CHUNKS", 2)  # 7 chunks of 2 markets
    pooled = _scan(root, symbols, chunk=2, processes=2)
    chunks = -(-len(symbols) // 2)
    assert 1 <= len(here) < chunks  # this process scanned the first chunks, the worker the rest
    assert here[0] == symbols[:2]
    assert to_jsonable(pooled.series) == to_jsonable(serial.series)
    assert pooled.errors == serial.errors


def test_worker_scans_chunks_itself(watchlist):
    """What a worker process runs for a chunk, called here: reports and errors as the
    serial scan gives them for that chunk."""
    root, symbols = watchlist
    part = symbols[8:12]  # M08, GONE (missing), M09, M10
    reports, errors = api._pool_job(("binance", "1d", part),
                                    {"offline": True, "cache_dir": root, "now_ms": NOW},
                                    "1d", None, ScanSettings(timeframe="1d"))
    serial = _scan(root, part)
    assert to_jsonable(tuple(reports)) == to_jsonable(serial.series)
    assert errors == list(serial.errors) and errors[0]["source"] == "binance:GONE/USDT"


def test_live_markets_and_charts_are_never_pooled(watchlist, monkeypatch):
    root, symbols = watchlist
    monkeypatch.setattr(api, "POOL_MIN_CHUNKS", 1)

    def no_pool(*a, **k):
        raise AssertionError("pooled")

    monkeypatch.setattr(api, "_scan_pooled", no_pool)
    live = api.scan_markets(["sample:BTC/USD"], exchange="binance", timeframe="1w",
                            processes=4)  # one chunk: nothing to share
    assert len(live.series) == 1
    kept = []
    res = _scan(root, symbols[:4], chunk=1, processes=4, on_series=lambda c, r: kept.append(r))
    assert len(kept) == len(res.series) == 4
    # a live (not offline) watchlist is fetched in this process: the pool is not used even
    # when the loads fail (no exchange here)
    res = api.scan_markets(symbols[:3], exchange="binance", timeframe="1d", chunk=1,
                           processes=4, load_kwargs={"cache_dir": root, "now_ms": NOW,
                                                     "exchange_options": {"urls": {"api": {
                                                         "public": "http://127.0.0.1:9"}}}})
    assert len(res.errors) + len(res.series) == 3


def test_default_processes(monkeypatch):
    monkeypatch.setenv("BTCSCAN_PROCESSES", "3")
    assert api.default_processes() == 3
    for bad in ("0", "x", ""):
        monkeypatch.setenv("BTCSCAN_PROCESSES", bad)
        assert api.default_processes() == 1


def _counting(fn, calls):
    def wrapped(*args):
        calls.append(args[0])
        return fn(*args)
    return wrapped


def test_cli_processes_option_gives_the_same_output(watchlist, tmp_path, monkeypatch):
    """``btcscan scan --offline --processes 2`` prints what the one-process scan prints,
    and exits 9 for the markets that failed, as it does."""
    from click.testing import CliRunner

    from btcscan.cli import cli

    root, symbols = watchlist
    f = tmp_path / "markets.txt"
    f.write_text("\n".join(f"binance:{s}@1d" for s in symbols) + "\n")
    base = ["scan", "--offline", "--cache-dir", str(root), "--symbols-file", str(f),
            "--asof", "2025-12-31", "--format", "ndjson"]
    monkeypatch.setitem(api.scan_markets.__kwdefaults__, "chunk", 2)  # 7 chunks
    one = CliRunner().invoke(cli, base, catch_exceptions=False)
    monkeypatch.setattr(api, "POOL_MIN_CHUNKS", 2)
    pooled = []
    monkeypatch.setattr(api, "_scan_pooled", _counting(api._scan_pooled, pooled))
    two = CliRunner().invoke(cli, [*base, "--processes", "2"], catch_exceptions=False)
    assert len(pooled) == 1 and len(pooled[0]) == 7
    assert one.exit_code == two.exit_code == 9
    lines = [json.loads(line) for line in one.stdout.splitlines()]
    assert sum("series" in x for x in lines) == 10 and sum("error" in x for x in lines) == 3
    assert two.stdout == one.stdout
