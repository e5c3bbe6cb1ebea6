"""Outside context: the Fear & Greed Index client against a loopback server (retries, cache,
offline, point in time, never in the sample scan unless asked) and --context-file."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner

from btcscan.cli import cli
from btcscan.data import sentiment
from btcscan.data.fetch import RetryPolicy
from btcscan.errors import DataError, NetworkError
from tests.conftest import write_csv

DAY_S = 86_400
START = datetime(2025, 9, 1, tzinfo=UTC)  # the fake index's first day
DAYS = 70  # 2025-09-01 .. 2025-11-09


def value_of(day: int) -> int:
    """The fake index on day ``day`` after START: 80 falling by 1 a day."""
    return 80 - day


def classify(v: int) -> str:
    return "Extreme Fear" if v <= 25 else "Fear" if v <= 45 else "Neutral" if v <= 55 else "Greed"


class FearGreed(ThreadingHTTPServer):
    """alternative.me's /fng/ on 127.0.0.1: newest first, ``limit`` rows (0 = all)."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict] = []
        self.failures: list[int] = []  # statuses to answer first, one per request
        self.days = DAYS

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/fng/"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        srv: FearGreed = self.server  # type: ignore[assignment]
        q = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        srv.requests.append(q)
        if srv.failures:
            status = srv.failures.pop(0)
            body = b"<html>busy</html>" if status == 200 else b"{}"
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)
            return
        limit = int(q.get("limit", 1))
        rows = [{"value": str(value_of(d)), "value_classification": classify(value_of(d)),
                 "timestamp": str(int((START + timedelta(days=d)).timestamp()))}
                for d in reversed(range(srv.days))]
        rows = rows if limit == 0 else rows[:limit]
        body = json.dumps({"name": "Fear and Greed Index", "data": rows,
                           "metadata": {"error": None}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def fng(monkeypatch):
    srv = FearGreed()
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    monkeypatch.setenv(sentiment.URL_ENV, srv.base)
    yield srv
    srv.shutdown()
    srv.server_close()


FAST = RetryPolicy(attempts=3, base_s=0.001, cap_s=0.002, budget_s=5.0)
NOW = int((START + timedelta(days=DAYS - 1, hours=6)).timestamp() * 1000)  # 2025-11-09 06:00


def test_client_fetches_all_once_then_only_newer_days(fng, tmp_path):
    s = sentiment.load_fear_greed(tmp_path, now_ms=NOW, policy=FAST)
    assert fng.requests == [{"limit": "0", "format": "json"}]
    assert len(s.values) == DAYS and s.values[0] == 80 and s.values[-1] == 80 - (DAYS - 1)
    assert sentiment.cache_file(tmp_path).exists()
    # the same day: today's value is cached, nothing is asked
    sentiment.load_fear_greed(tmp_path, now_ms=NOW, policy=FAST)
    assert len(fng.requests) == 1
    # three days later the server has three more days; only a few rows are asked for
    fng.days = DAYS + 3
    later = sentiment.load_fear_greed(tmp_path, now_ms=NOW + 3 * DAY_S * 1000, policy=FAST)
    assert fng.requests[-1] == {"limit": "5", "format": "json"}
    assert len(later.values) == DAYS + 3 and later.values[-1] == 80 - (DAYS + 2)


def test_retries_then_offline_reads_the_cache_without_a_connection(fng, tmp_path):
    fng.failures = [503, 200]  # a 503, then a 200 whose body is HTML
    waits: list[float] = []
    s = sentiment.load_fear_greed(tmp_path, now_ms=NOW, policy=FAST, sleep=waits.append)
    assert len(fng.requests) == 3 and len(waits) == 2 and len(s.values) == DAYS
    fng.shutdown()  # nothing listens any more: an offline run must not try
    fng.server_close()
    off = sentiment.load_fear_greed(tmp_path, offline=True, now_ms=NOW + 10 * DAY_S * 1000)
    assert len(off.values) == DAYS and off.note == "offline: from the cache, not refreshed"


def test_unreachable_without_cache_is_a_network_error(fng, tmp_path):
    fng.failures = [503, 503, 503]
    with pytest.raises(NetworkError, match=r"HTTP 503 after 3 attempt\(s\)"):
        sentiment.load_fear_greed(tmp_path, now_ms=NOW, policy=FAST, sleep=lambda s: None)
    assert not sentiment.cache_file(tmp_path).exists()
    with pytest.raises(DataError, match="no Fear & Greed values cached"):
        sentiment.load_fear_greed(tmp_path, offline=True, now_ms=NOW)


def test_unreachable_with_cache_uses_it_and_says_so(fng, tmp_path):
    sentiment.load_fear_greed(tmp_path, now_ms=NOW, policy=FAST)
    fng.failures = [500, 500, 500]
    s = sentiment.load_fear_greed(tmp_path, now_ms=NOW + 2 * DAY_S * 1000, policy=FAST,
                                  sleep=lambda s: None)
    assert s.note.startswith("not refreshed (Fear & Greed Index") and len(s.values) == DAYS


def scan(*args, env=None):
    return CliRunner().invoke(cli, ["scan", "--sample", "-t", "1d", *args], env=env,
                              catch_exceptions=False)


def valid(doc: dict) -> dict:
    """``doc`` after checking it against the shipped JSON Schema."""
    import jsonschema

    from btcscan.render.serial import schema

    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()
                                    ).validate(doc)
    return doc


def test_sentiment_point_in_time_in_report_and_json(fng, tmp_path):
    # --asof 2025-10-31: the value of 2025-10-31 (day 60: 20), 30 days before 2025-10-01 (50)
    res = scan("--asof", "2025-10-31", "--sentiment", "--format", "json")
    assert res.exit_code == 0, res.stderr
    m = valid(json.loads(res.stdout))["series"][0]["context"]["metrics"]
    assert m == [{
        "name": "fear_greed", "label": "Crypto Fear & Greed Index", "value": 20.0,
        "time": "2025-10-31T00:00:00Z", "classification": "Extreme Fear", "change_30d": -30.0,
        "change_30d_pct": -60.0, "source": m[0]["source"], "note": None}]
    assert "alternative.me" in m[0]["source"] and fng.base in m[0]["source"]
    table = scan("--asof", "2025-10-31", "--sentiment", env={"COLUMNS": "120"})
    assert ("- Crypto Fear & Greed Index: 20 (Extreme Fear) on 2025-10-31; 30d change -30 "
            "(-60.0%)") in table.stdout
    # before the index's first day: said, not invented
    early = valid(json.loads(scan("--asof", "2025-08-15", "--sentiment", "--offline",
                                  "--format", "json").stdout))
    assert early["series"][0]["context"]["metrics"][0]["value"] is None


def test_sample_scan_never_asks_unless_told(fng):
    res = scan("--asof", "2025-10-31", "--format", "json")
    assert res.exit_code == 0
    assert fng.requests == []
    assert json.loads(res.stdout)["series"][0]["context"]["metrics"] == []


def test_context_file_point_in_time_with_30_day_change(tmp_path):
    rows = [[(datetime(2025, 9, 1) + timedelta(days=d)).strftime("%Y-%m-%d"), 1000 + 10 * d]
            for d in range(70)]
    path = write_csv(tmp_path / "lth.csv", ["date", "lth_supply"], rows)
    res = scan("--asof", "2025-10-31", "--context-file", f"lth={path}", "--format", "json")
    assert res.exit_code == 0, res.stderr
    (m,) = valid(json.loads(res.stdout))["series"][0]["context"]["metrics"]
    # the row of 2025-10-31 (day 60) is known at the end of that day: 1600; 30 days before 1300
    assert (m["name"], m["value"], m["time"], m["change_30d"]) == (
        "lth", 1600.0, "2025-10-31T00:00:00Z", 300.0)
    assert m["change_30d_pct"] == pytest.approx(300 / 1300 * 100)
    assert "column lth_supply of" in m["source"] and "70 rows 2025-09-01..2025-11-09" in m[
        "source"]
    # mid-day: the day's row is not known yet, the one before is
    mid = json.loads(scan("--asof", "2025-10-31T12:00Z", "--context-file", f"lth={path}",
                          "--format", "json").stdout)
    assert mid["series"][0]["context"]["metrics"][0]["value"] == 1590.0
    pq = tmp_path / "lth.parquet"
    import polars as pl

    pl.read_csv(path).write_parquet(pq)
    text = scan("--asof", "2025-10-31", "--context-file", f"lth={pq}", env={"COLUMNS": "100"})
    assert "- lth: 1,600 on 2025-10-31; 30d change +300 (+23.1%)" in text.stdout


@pytest.mark.parametrize("arg, message", [
    ("lth", "use NAME=PATH"),
    ("lth={missing}", "no such file"),
    ("lth={two}", "which column is lth? found a, b"),
])
def test_context_file_mistakes_are_one_line(tmp_path, arg, message):
    two = write_csv(tmp_path / "two.csv", ["date", "a", "b"], [["2025-01-01", 1, 2]])
    res = CliRunner().invoke(cli, ["scan", "--sample", "--context-file",
                                   arg.format(missing=tmp_path / "x.csv", two=two)])
    assert res.exit_code in (2, 4)
    assert message in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_sentiment_appears_on_the_chart_with_its_source(fng, tmp_path):
    """The chart's header (PNG and HTML read the same view) names the day's value and
    where it came from: the fake index's value of 2025-10-31 is 20."""
    out = tmp_path / "c.html"
    res = scan("--asof", "2025-10-31", "--sentiment", "--chart", str(out))
    assert res.exit_code == 0, res.stderr
    page = out.read_text()
    assert ("Crypto Fear & Greed Index 20 (Extreme Fear) on 2025-10-31; source: alternative.me"
            in page.replace("\\u0026", "&"))
    png = tmp_path / "c.png"
    assert scan("--asof", "2025-10-31", "--chart", str(png)).exit_code == 0  # none unless asked
