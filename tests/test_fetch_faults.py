"""Fault injection on the loopback exchange: what is retried, what reaches the cache, what the
user is told, and which exit code follows. A failed refresh leaves the cache byte-identical."""

from __future__ import annotations

import pytest

from btcscan.data import cache
from btcscan.data.market import FetchReport, load_markets
from btcscan.errors import ExchangeError, ExitCode, NetworkError
from tests.exchange_server import DAY_MS, NOW, TODAY

LATER = NOW + 3 * DAY_MS  # three more daily candles have closed


@pytest.fixture
def warm(server, binance, tmp_path, fast_retry):
    """ETH/USDT cached at NOW; the exchange's clock moved on by three days."""
    load_markets(["ETH/USDT"], cache_dir=tmp_path, now_ms=NOW, exchange_options=binance)
    path = cache.cache_path(tmp_path, "binance", "ETH/USDT", "1d")
    server.now_ms = LATER
    server.reset_log()
    return path, path.read_bytes()


def refresh(tmp_path, binance, symbol="ETH/USDT"):
    reports: list[FetchReport] = []
    (res,) = load_markets([symbol], cache_dir=tmp_path, now_ms=LATER, exchange_options=binance,
                          reports=reports)
    return res, reports[0]


def opens(tmp_path, symbol="ETH/USDT"):
    return cache.load(tmp_path, "binance", symbol, "1d")["open_time"].dt.epoch("ms").to_list()


@pytest.mark.parametrize("status", [500, 502, 503, 418])
def test_transient_http_errors_are_retried(server, binance, tmp_path, warm, status):
    server.fail("status", status=status, times=2)
    res, rep = refresh(tmp_path, binance)
    assert len(res) == 303
    assert [r.status for r in server.candle_requests()] == [status, status, 200]
    assert len(rep.retries) == 2
    assert any("2 request(s) retried" in n for n in res.notes + res.warnings)
    assert opens(tmp_path)[-1] == TODAY + 2 * DAY_MS


def test_429_retry_after_is_honoured(server, binance, tmp_path, warm):
    server.fail("status", status=429, headers={"Retry-After": "1"})
    res, rep = refresh(tmp_path, binance)
    first, second = server.candle_requests()
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 1.0  # waited as told, not the 10 ms backoff
    assert rep.retries == ["rate-limited (RateLimitExceeded)"] or rep.retries == [
        "rate-limited (DDoSProtection)"]
    assert len(res) == 303


def test_retry_after_beyond_the_budget_fails_at_once_and_keeps_the_cache(server, binance,
                                                                         tmp_path, warm):
    path, before = warm
    server.fail("status", status=429, headers={"Retry-After": "30"}, times=5)
    res, _ = refresh(tmp_path, binance)
    assert isinstance(res, NetworkError) and res.exit_code == ExitCode.NETWORK == 5
    msg = str(res)
    assert msg.startswith("binance ETH/USDT: rate-limited") and "\n" not in msg
    assert "rateLimit" in msg  # says what to do
    assert len(server.candle_requests()) == 1
    assert path.read_bytes() == before


@pytest.mark.parametrize("kind,said", [
    ("status", "unavailable"),
    ("truncated", "not valid JSON"),
    ("html", "HTML, not JSON"),
])
def test_persistent_failure_ends_in_one_line_and_leaves_the_cache_byte_identical(
        server, binance, tmp_path, warm, kind, said):
    path, before = warm
    server.fail(kind, status=503, times=99)
    res, _ = refresh(tmp_path, binance)
    assert isinstance(res, NetworkError)
    assert res.exit_code == ExitCode.NETWORK
    msg = str(res)
    assert "binance ETH/USDT" in msg and said in msg and "after 4 attempt(s)" in msg
    assert "retry later" in msg and "\n" not in msg
    assert len(server.candle_requests()) == 4  # fast_retry allows 4 attempts
    assert path.read_bytes() == before


@pytest.mark.parametrize("kind", ["truncated", "html"])
def test_bad_body_once_is_retried(server, binance, tmp_path, warm, kind):
    server.fail(kind)
    res, rep = refresh(tmp_path, binance)
    assert len(res) == 303 and len(rep.retries) == 1


def test_stalled_response_times_out_and_is_retried(server, binance, tmp_path, warm):
    server.fail("stall", seconds=2.0)
    opts = {**binance, "timeout": 300}
    res, rep = refresh(tmp_path, opts)
    assert rep.retries == ["timed out (RequestTimeout)"]
    assert len(res) == 303


def test_stall_every_time_is_a_network_error(server, binance, tmp_path, warm):
    path, before = warm
    server.fail("stall", seconds=0.6, times=99)
    res, _ = refresh(tmp_path, {**binance, "timeout": 200})
    assert isinstance(res, NetworkError) and "timed out" in str(res)
    assert "raise timeout" in str(res)
    assert path.read_bytes() == before


@pytest.mark.parametrize("status,body,cls", [
    (400, '{"code":-1121,"msg":"Invalid symbol."}', "BadSymbol"),
    (400, '{"code":-1100,"msg":"Illegal characters found in parameter."}', "BadRequest"),
    (401, '{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}', "Auth"),
])
def test_refusals_are_never_retried(server, binance, tmp_path, warm, status, body, cls):
    path, before = warm
    server.fail("status", status=status, body=body, times=5)
    res, rep = refresh(tmp_path, binance)
    assert isinstance(res, ExchangeError) and res.exit_code == ExitCode.EXCHANGE == 6
    assert len(server.candle_requests()) == 1 and rep.retries == []
    assert str(res).startswith("binance ETH/USDT: ")
    if cls == "BadSymbol":
        assert "check the symbol" in str(res)
    if cls == "Auth":
        assert "need no API key" in str(res)
    if cls == "BadRequest":
        assert "check the symbol, --timeframe and --since" in str(res)
    assert path.read_bytes() == before


def test_empty_page_stops_the_walk_and_caches_nothing_new(server, binance, tmp_path, warm):
    path, before = warm
    server.fail("empty")
    res, rep = refresh(tmp_path, binance)
    assert len(res) == 300 and rep.new_rows == 0
    assert len(server.candle_requests()) == 1
    assert any("next run asks again" in n for n in res.notes + res.warnings)
    assert path.read_bytes() == before


def test_duplicated_and_out_of_order_candles_are_cached_once_in_order(server, binance,
                                                                      tmp_path, fast_retry):
    server.fail("duplicate")
    (res,) = load_markets(["ETH/USDT"], cache_dir=tmp_path, now_ms=NOW,
                          exchange_options=binance)
    t = opens(tmp_path)
    assert t == sorted(set(t)) and len(t) == 300
    assert any("1 duplicated candle" in n for n in res.notes + res.warnings)
    # (ccxt itself sorts each page by time, so the order is repaired before validation)


def test_candle_with_null_fields_is_rejected_reported_and_left_as_a_gap(server, binance,
                                                                        tmp_path, fast_retry):
    server.fail("nulls")
    (res,) = load_markets(["ETH/USDT"], cache_dir=tmp_path, now_ms=NOW,
                          exchange_options=binance)
    bad = TODAY - 299 * DAY_MS  # the second candle
    t = opens(tmp_path)
    assert bad not in t and len(t) == 299
    notes = " | ".join(res.notes + res.warnings)
    assert "rejected 1 invalid candle(s), not cached" in notes and "(empty field)" in notes
    assert "1 missing candle(s), not filled" in notes


def test_high_below_low_is_rejected(server, binance, tmp_path, fast_retry):
    server.fail("badhigh")
    (res,) = load_markets(["ETH/USDT"], cache_dir=tmp_path, now_ms=NOW,
                          exchange_options=binance)
    assert len(opens(tmp_path)) == 299
    assert any("high/low inconsistent" in n for n in res.notes + res.warnings)


def test_page_that_does_not_advance_stops_the_walk(server, binance, tmp_path, fast_retry):
    server.fail("none")
    server.fail("repeat", times=99)  # from the second page on: the first page again
    (res,) = load_markets(["BTC/USDT"], cache_dir=tmp_path, now_ms=NOW,
                          exchange_options=binance)
    assert len(server.candle_requests()) == 2
    assert len(res) == 1000
    # ccxt drops the rows older than 'since', so the repeated page arrives empty
    said = res.notes + res.warnings
    assert any("sent no 1d candles from" in n and "ignore 'since'" in n for n in said)


def test_exchange_returning_only_its_latest_page_is_detected(server, binance, tmp_path,
                                                            fast_retry):
    server.fail("stuck", times=99)  # ignores startTime: always the latest 1000
    (res,) = load_markets(["BTC/USDT"], cache_dir=tmp_path, now_ms=NOW,
                          exchange_options=binance)
    assert len(res) == 999
    assert any("only the latest 1000" in n for n in res.notes + res.warnings)
    assert len(server.candle_requests()) == 1


def test_unreachable_exchange_is_a_network_error(tmp_path, fast_retry):
    from tests.exchange_server import loopback_options

    opts = loopback_options("binance", "http://127.0.0.1:9", timeout=300)
    (res,) = load_markets(["BTC/USDT"], cache_dir=tmp_path, now_ms=NOW, exchange_options=opts)
    assert isinstance(res, NetworkError) and res.exit_code == 5
    assert str(res).startswith("binance BTC/USDT: binance market list: network error")
    assert "check the connection" in str(res)


@pytest.mark.parametrize("body,retried", [
    ('{"error":["EService:Unavailable"],"result":{}}', True),
    ('{"error":["EAPI:Rate limit exceeded"],"result":{}}', True),
    ('{"error":["EQuery:Unknown asset pair"]}', False),
])
def test_kraken_errors_in_a_200_body(server, kraken, tmp_path, fast_retry, body, retried):
    """Kraken reports errors inside HTTP 200 replies; ccxt maps them, btcscan retries or not."""
    server.fail("status", status=200, body=body)
    (res,) = load_markets(["BTC/USD"], exchange="kraken", cache_dir=tmp_path, now_ms=NOW,
                          exchange_options=kraken)
    assert len(server.candle_requests()) == (2 if retried else 1)
    if retried:
        assert len(res) == 719
    else:
        assert isinstance(res, ExchangeError) and str(res).startswith("kraken BTC/USD: ")
        assert cache.load(tmp_path, "kraken", "BTC/USD", "1d") is None
