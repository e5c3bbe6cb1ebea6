"""Pieces of the fetcher on their own: pagination with a fake client, the rate limiter,
Retry-After parsing, the grid, and that nothing imports ccxt before it fetches."""

from __future__ import annotations

import email.utils
import subprocess
import sys
import threading
import time

import pytest

from btcscan.data.fetch import (
    RateLimiter,
    RetryPolicy,
    Stats,
    _retry_after,
    on_grid,
    paginate,
    validate_rows,
)
from btcscan.data.market import load_markets
from btcscan.timeframes import DAY_MS, parse_timeframe
from tests.exchange_server import NOW, TODAY

D1 = parse_timeframe("1d")


class FakeClient:
    """Returns pages as scripted, without ccxt's client-side filtering."""

    id = "fake"
    features: dict = {}  # noqa: RUF012 - read-only, like ccxt's

    def __init__(self, pages):
        self.pages = list(pages)
        self.calls: list[tuple] = []
        self.last_response_headers = None
        self.last_json_response = None
        self.last_http_response = None

    def fetch_ohlcv(self, symbol, timeframe, since, limit):
        self.calls.append((since, limit))
        page = self.pages.pop(0) if self.pages else []
        self.last_json_response = page
        self.last_http_response = "[...]"
        return page


def rows(start_day: int, n: int) -> list[list]:
    t0 = TODAY + start_day * DAY_MS
    return [[t0 + i * DAY_MS, 1.0, 2.0, 0.5, 1.5, 3.0] for i in range(n)]


def walk(client, since):
    return paginate(client, "X/Y", D1, since, NOW, limiter=RateLimiter(0),
                    policy=RetryPolicy(attempts=1), stats=Stats())


def test_a_repeated_page_stops_the_walk_and_is_reported():
    page = rows(-1200, 500)
    client = FakeClient([page, page, page])
    out = walk(client, TODAY - 1200 * DAY_MS)
    assert len(client.calls) == 2
    assert len(out.rows) == 500
    assert any("does not advance" in n for n in out.notes)


def test_the_walk_continues_after_the_newest_row_and_stops_at_the_present():
    client = FakeClient([rows(-1200, 500), rows(-700, 500), rows(-200, 201)])
    out = walk(client, TODAY - 1200 * DAY_MS)
    assert [c[0] for c in client.calls] == [
        TODAY - 1200 * DAY_MS, TODAY - 701 * DAY_MS + 1, TODAY - 201 * DAY_MS + 1]
    assert len(out.rows) == 1201 and out.notes == []


def test_validation_reports_count_and_first_few():
    good = rows(-10, 3)
    bad = [[TODAY + 5, 1.0, 2.0, 0.5, 1.5, 3.0],  # off the daily grid
           [TODAY - 20 * DAY_MS, 1.0, 2.0, 0.5, float("nan"), 3.0],
           [TODAY - 21 * DAY_MS, 1.0, 0.9, 0.5, 1.5, 3.0],  # high < open
           [TODAY - 22 * DAY_MS, 1.0, 2.0, 1.2, 1.5, 3.0],  # low > open
           [TODAY - 23 * DAY_MS, 1.0, 2.0, 0.5, 1.5, -3.0]]
    v = validate_rows(good + bad, D1, "x")
    assert v.frame.height == 3 and v.rejected == 5
    (note,) = v.notes
    assert note.startswith("x: rejected 5 invalid candle(s), not cached: ")
    assert "off the 1d grid" in note and "non-finite" in note and note.endswith(" ...")


def test_conflicting_candles_at_one_open_time_are_both_rejected():
    a = rows(-3, 1)[0]
    b = [a[0], 1.0, 2.0, 0.5, 1.4, 3.0]
    v = validate_rows([a, b, *rows(-2, 1)], D1, "x")
    assert v.frame.height == 1 and "two different candles" in v.notes[0]


@pytest.mark.parametrize("tf,ms,ok", [
    ("1w", 1_763_337_600_000, True),  # Monday 2025-11-17
    ("1w", 1_763_337_600_000 + DAY_MS, False),
    ("1M", 1_761_955_200_000, True),  # 2025-11-01
    ("1M", 1_761_955_200_000 + DAY_MS, False),
    ("3d", 3 * DAY_MS * 6000, True),
    ("4h", TODAY + 4 * 3600_000, True),
    ("4h", TODAY + 3600_000, False),
])
def test_grid(tf, ms, ok):
    assert on_grid(ms, parse_timeframe(tf)) is ok


def test_retry_after_seconds_and_http_date():
    class C:
        last_response_headers = {"Retry-After": "7"}  # noqa: RUF012

    assert _retry_after(C) == 7.0
    C.last_response_headers = {"Retry-After": email.utils.formatdate(time.time() + 30,
                                                                    usegmt=True)}
    assert 25 <= _retry_after(C) <= 31
    C.last_response_headers = None
    assert _retry_after(C) is None


def test_rate_limiter_spaces_requests_across_threads():
    lim = RateLimiter(20)
    stamps: list[float] = []
    lock = threading.Lock()

    def work():
        for _ in range(5):
            lim.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=work) for _ in range(4)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    # the k-th request never goes before its slot (a late wake-up may only delay it)
    assert len(stamps) == 20
    assert all(s - t0 >= k * 0.020 - 1e-4 for k, s in enumerate(stamps))


def test_concurrent_markets_share_one_rate_limit(server, binance, tmp_path):
    opts = {**binance, "rateLimit": 25}
    t0 = time.monotonic()  # the server runs in this process: same clock
    res = load_markets(["BTC/USDT", "ETH/USDT"], cache_dir=tmp_path, now_ms=NOW,
                       exchange_options=opts, workers=2)
    assert [len(r) for r in res] == [2500, 300]
    at = sorted(r.at for r in server.requests if r.path in ("/api/v3/klines",
                                                            "/api/v3/exchangeInfo"))
    assert len(at) == 5  # the market list, 3 pages of BTC/USDT, 1 of ETH/USDT
    assert all(a - t0 >= k * 0.025 - 1e-4 for k, a in enumerate(at))


def test_library_imports_do_not_load_ccxt():
    code = ("import sys, btcscan.cli, btcscan.data.market, btcscan.data.cache, "
            "btcscan.data.fetch, btcscan.config, btcscan.cli_data; "
            "print('ccxt' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_overlapping_pages_are_not_reported_as_duplicates():
    client = FakeClient([rows(-1200, 500), rows(-701, 501), rows(-201, 202)])
    out = walk(client, TODAY - 1200 * DAY_MS)
    v = validate_rows(out.rows, D1, "x")
    assert v.frame.height == 1201 and v.notes == [] and out.notes == []


def test_candles_anchored_off_the_utc_grid_get_a_specific_hint():
    hk = [[r[0] - 8 * 3600_000, *r[1:]] for r in rows(-5, 5)]  # 16:00 UTC daily candles
    v = validate_rows(hk, D1, "okx BTC/USDT 1d")
    assert v.frame.height == 0 and v.rejected == 5
    assert "no candle opens on the UTC 1d grid" in v.notes[1]
