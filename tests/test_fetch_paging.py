"""Pagination, incremental refresh and closed-candle handling against the loopback exchange."""

from __future__ import annotations

import polars as pl
import pytest

from btcscan.data import cache
from btcscan.data.fetch import on_grid
from btcscan.data.market import FetchReport, load_market, load_markets
from btcscan.errors import BtcscanError, ExchangeError, ExitCode
from btcscan.timeframes import parse_timeframe
from tests.exchange_server import DAY_MS, NOW, TODAY


def opens(frame: pl.DataFrame) -> list[int]:
    return frame["open_time"].dt.epoch("ms").to_list()


def test_cold_fetch_pages_forward_and_caches_closed_candles_only(server, binance, tmp_path):
    c = load_market("BTC/USDT", exchange="binance", cache_dir=tmp_path, now_ms=NOW,
                    exchange_options=binance)
    t = opens(c.frame)
    assert len(c) == 2500  # listed 2500 days ago; today's forming candle is not included
    assert t[0] == TODAY - 2500 * DAY_MS and t[-1] == TODAY - DAY_MS
    assert t == sorted(set(t))
    kl = server.candle_requests()
    assert len(kl) == 3  # 1000 + 1000 + 501 (the last page holds the forming candle)
    assert int(kl[0].query["startTime"]) == 0
    assert all(r.query["limit"] == "1000" for r in kl)
    assert int(kl[1].query["startTime"]) == t[999] + 1
    cached = cache.load(tmp_path, "binance", "BTC/USDT", "1d")
    assert opens(cached) == t
    assert c.source.kind == "exchange" and c.source.exchange == "binance"


def test_refresh_fetches_only_after_the_last_cached_candle(server, binance, tmp_path):
    load_market("ETH/USDT", cache_dir=tmp_path, now_ms=NOW, exchange_options=binance)
    server.reset_log()
    server.now_ms = NOW + 3 * DAY_MS
    reports: list[FetchReport] = []
    load_markets(["ETH/USDT"], cache_dir=tmp_path, now_ms=NOW + 3 * DAY_MS,
                 exchange_options=binance, reports=reports)
    kl = server.candle_requests()
    assert len(kl) == 1
    assert int(kl[0].query["startTime"]) == TODAY  # the first candle not yet cached
    assert reports[0].new_rows == 3
    t = opens(cache.load(tmp_path, "binance", "ETH/USDT", "1d"))
    assert len(t) == len(set(t)) == 303
    assert t[-1] == TODAY + 2 * DAY_MS


def test_up_to_date_cache_costs_no_candle_request(server, binance, tmp_path):
    load_market("ETH/USDT", cache_dir=tmp_path, now_ms=NOW, exchange_options=binance)
    path = cache.cache_path(tmp_path, "binance", "ETH/USDT", "1d")
    before = path.read_bytes()
    server.reset_log()
    c = load_market("ETH/USDT", cache_dir=tmp_path, now_ms=NOW + 3600_000,
                    exchange_options=binance)
    assert server.requests == []  # not even the market list
    assert len(c) == 300
    assert path.read_bytes() == before


def test_one_new_candle_costs_one_request(server, binance, tmp_path):
    load_market("BTC/USDT", cache_dir=tmp_path, now_ms=NOW, exchange_options=binance)
    server.now_ms = NOW + DAY_MS
    server.reset_log()
    reports: list[FetchReport] = []
    load_markets(["BTC/USDT"], cache_dir=tmp_path, now_ms=NOW + DAY_MS,
                 exchange_options=binance, reports=reports)
    assert len(server.candle_requests()) == 1
    assert reports[0].new_rows == 1


def test_since_limits_the_first_fetch_and_backfills_later(server, binance, tmp_path):
    since = TODAY - 10 * DAY_MS
    c = load_market("BTC/USDT", cache_dir=tmp_path, since_ms=since, now_ms=NOW,
                    exchange_options=binance)
    assert opens(c.frame)[0] == since and len(c) == 10
    server.reset_log()
    c = load_market("BTC/USDT", cache_dir=tmp_path, since_ms=since - 5 * DAY_MS, now_ms=NOW,
                    exchange_options=binance)
    assert len(c) == 15
    assert len(server.candle_requests()) == 1  # only the 5 missing days
    assert len(cache.load(tmp_path, "binance", "BTC/USDT", "1d")) == 15


def test_several_markets_concurrently_one_bad_does_not_stop_the_others(server, binance,
                                                                       tmp_path):
    res = load_markets(["BTC/USDT", "NOPE/USDT", "ETH/USDT"], cache_dir=tmp_path, now_ms=NOW,
                       exchange_options=binance)
    assert [len(r) for r in (res[0], res[2])] == [2500, 300]
    assert isinstance(res[1], ExchangeError)
    assert res[1].exit_code == ExitCode.EXCHANGE
    assert "binance NOPE/USDT" in str(res[1]) and "check the symbol" in str(res[1])
    # the market list is loaded once for all markets
    assert sum(r.path == "/api/v3/exchangeInfo" for r in server.requests) == 1


def test_native_weekly_on_binance_opens_monday(server, binance, tmp_path):
    c = load_market("BTC/USDT", timeframe="1w", cache_dir=tmp_path, now_ms=NOW,
                    exchange_options=binance)
    tf = parse_timeframe("1w")
    t = opens(c.frame)
    assert all(on_grid(x, tf) for x in t)
    assert t[-1] + tf.ms <= NOW  # the forming week (opened Monday 2025-11-17) is not there
    assert t[-1] == TODAY - 11 * DAY_MS  # Monday 2025-11-10
    assert not any("built from" in n for n in c.notes + c.warnings)


def test_unknown_exchange_and_timeframe_are_exchange_errors(server, binance, tmp_path):
    with pytest.raises(ExchangeError, match="unknown exchange 'nosuchex'"):
        load_market("BTC/USDT", exchange="nosuchex", cache_dir=tmp_path, now_ms=NOW)
    with pytest.raises(ExchangeError, match="binance has no 7m candles"):
        load_market("BTC/USDT", timeframe="7m", cache_dir=tmp_path, now_ms=NOW,
                    exchange_options=binance)
    assert server.candle_requests() == []


def test_kraken_keeps_only_its_latest_720_candles_and_says_so(server, kraken, tmp_path):
    c = load_market("BTC/USD", exchange="kraken", cache_dir=tmp_path, now_ms=NOW,
                    exchange_options=kraken)
    assert len(c) == 719  # 720 kept, the last is forming
    assert opens(c.frame)[-1] == TODAY - DAY_MS
    assert any("only the latest 720" in n and "older history is not available" in n
               for n in c.notes + c.warnings)
    kl = server.candle_requests()
    assert len(kl) == 1 and kl[0].path == "/0/public/OHLC"
    # refresh a day later: kraken's own paging (since in seconds, strictly after)
    server.now_ms = NOW + DAY_MS
    server.reset_log()
    c = load_market("BTC/USD", exchange="kraken", cache_dir=tmp_path, now_ms=NOW + DAY_MS,
                    exchange_options=kraken)
    assert len(c) == 720 and opens(c.frame)[-1] == TODAY
    assert len(server.candle_requests()) == 1


def test_weekly_on_kraken_is_built_from_daily_and_says_so(server, kraken, tmp_path):
    pytest.importorskip("btcscan.data.resample")
    c = load_market("BTC/USD", exchange="kraken", timeframe="1w", cache_dir=tmp_path,
                    now_ms=NOW, exchange_options=kraken)
    assert c.timeframe.text == "1w"
    assert any("1w built from 1d candles" in n for n in c.notes + c.warnings)
    t = opens(c.frame)
    assert all(on_grid(x, parse_timeframe("1w")) for x in t)
    assert t[-1] == TODAY - 11 * DAY_MS
    assert cache.load(tmp_path, "kraken", "BTC/USD", "1d") is not None
    assert cache.load(tmp_path, "kraken", "BTC/USD", "1w") is None


def test_offline_reads_the_cache_without_any_network_call(server, binance, tmp_path):
    load_market("ETH/USDT", cache_dir=tmp_path, now_ms=NOW, exchange_options=binance)
    server.shutdown()
    dead = {"urls": {"api": {k: "http://127.0.0.1:9/x" for k in binance["urls"]["api"]}}}
    c = load_market("ETH/USDT", cache_dir=tmp_path, now_ms=NOW + 5 * DAY_MS, offline=True,
                    exchange_options=dead)
    assert len(c) == 300
    assert any("offline" in n for n in c.notes + c.warnings)
    with pytest.raises(BtcscanError, match="no 1d candles in the cache"):
        load_market("BTC/USDT", cache_dir=tmp_path, now_ms=NOW, offline=True)
