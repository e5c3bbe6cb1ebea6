"""Data that is read wrong must be refused (issue 14): a file mixing timestamp units is
refused naming the rows; milliseconds of any year up to 9999 are read as milliseconds; a
re-downloaded closed candle that differs from the cached one never silently replaces it
(one rule for every refresh: the cache keeps its candle and a warning says what changed)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from click.testing import CliRunner

from btcscan.cli import cli
from btcscan.data import cache
from btcscan.errors import ExitCode
from tests.conftest import REPO, write_csv
from tests.exchange_server import DAY_MS
from tests.test_config import toml_table

SAMPLE = REPO / "btcscan" / "data" / "sample" / "bitstamp_btc-usd_1d.parquet"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def one_error_line(res, *needles: str) -> str:
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("btcscan: error: "), res.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def daily_rows(n: int = 120) -> list[list]:
    """n daily candles of the bundled history as [ms, o, h, l, c, v] (real prices)."""
    df = pl.read_parquet(SAMPLE).tail(n)
    ms = df["open_time"].dt.epoch("ms").to_list()
    return [[t, *vals] for t, vals in zip(ms, df.select("open", "high", "low", "close",
                                                         "volume").rows(), strict=True)]


HEADER = ["timestamp", "open", "high", "low", "close", "volume"]


# --- mixed units -----------------------------------------------------------------------------

def test_a_few_rows_in_seconds_among_milliseconds_are_refused_naming_them(tmp_path):
    rows = daily_rows()
    for i in (3, 7, 40):  # 0-based: rows 4, 8 and 41 of the data
        rows[i][0] //= 1000
    p = write_csv(tmp_path / "mixed.csv", HEADER, rows)
    res = run("scan", "--from-file", str(p), "-t", "1d", "--format", "json")
    assert res.exit_code == ExitCode.DATA
    one_error_line(res, str(p), "mix units", "most are milliseconds",
                   "row(s) 4, 8, 41 look like seconds")
    assert res.stdout == ""


def test_many_odd_rows_are_counted_not_all_listed(tmp_path):
    rows = daily_rows()
    for r in rows[10:30]:
        r[0] //= 1000
    p = write_csv(tmp_path / "mixed.csv", HEADER, rows)
    res = run("scan", "--from-file", str(p), "-t", "1d")
    assert res.exit_code == ExitCode.DATA
    one_error_line(res, "row(s) 11, 12, 13, 14, 15 and 15 more look like seconds")
    assert res.stdout == ""


# --- one unit per file, up to the year 9999 -------------------------------------------------

@pytest.mark.parametrize("unit,scale", [("s", 1e-3), ("ms", 1), ("us", 1e3), ("ns", 1e6)])
def test_each_unit_reads_the_same_dates(tmp_path, unit, scale):
    rows = daily_rows(60)
    first_ms = rows[0][0]
    for r in rows:
        r[0] = int(r[0] * scale)
    p = write_csv(tmp_path / f"{unit}.csv", HEADER, rows)
    res = run("scan", "--from-file", str(p), "-t", "1d", "--format", "json")
    assert res.exit_code == 0, res.stderr
    import json

    doc = json.loads(res.stdout)["series"][0]
    want = EPOCH + timedelta(milliseconds=first_ms)
    assert doc["first_candle"] == want.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("year", [5139, 8309, 9998])
def test_milliseconds_after_the_year_5138_stay_milliseconds(tmp_path, year):
    """A fixed 1e14 cut read these as microseconds, i.e. candles of 1973..1978."""
    rows = daily_rows(60)
    shift = (datetime(year, 1, 1, tzinfo=UTC) - EPOCH) // timedelta(days=1) * DAY_MS \
        - rows[0][0] // DAY_MS * DAY_MS
    for r in rows:
        r[0] += shift
    assert rows[0][0] > 1e14  # past the old cut
    p = write_csv(tmp_path / "far.csv", HEADER, rows)
    res = run("scan", "--from-file", str(p), "-t", "1d", "--format", "json")
    assert res.exit_code == 0, res.stderr
    import json

    doc = json.loads(res.stdout)["series"][0]
    assert doc["first_candle"].startswith(f"{year}-01-01")
    assert doc["last_closed"]["close"] == rows[-1][4]


# --- a cached closed candle the exchange now reports otherwise -------------------------------

@pytest.fixture
def cfg(server, binance, tmp_path):
    server.now_ms = int(time.time() * 1000)  # the CLI reads the real clock
    p = tmp_path / "config.toml"
    p.write_text(toml_table({"timeout": 1000, "rateLimit": 0, "urls": binance["urls"]},
                            "exchanges.binance"))
    return str(p)


def _day(ms: int) -> str:
    return (EPOCH + timedelta(milliseconds=ms)).strftime("%Y-%m-%d")


def test_since_before_the_cache_never_overwrites_a_changed_candle_and_says_so(cfg, tmp_path):
    cdir = tmp_path / "c"
    today = int(time.time() * 1000) // DAY_MS * DAY_MS
    later, earlier = today - 200 * DAY_MS, today - 260 * DAY_MS
    first = run("fetch", "ETH/USDT", "--since", _day(later), "--config", cfg,
                "--cache-dir", str(cdir))
    assert first.exit_code == 0, first.stderr
    path = cache.cache_path(cdir, "binance", "ETH/USDT", "1d")
    cached = pl.read_parquet(path)
    assert cached["open_time"].dt.epoch("ms")[0] == later
    # the cache holds a candle the exchange now reports otherwise (one it re-sends when it
    # back-fills: the page from --since runs past the first cached candle)
    t = later + 2 * DAY_MS
    doctored = cached.with_columns(
        pl.when(pl.col("open_time").dt.epoch("ms") == t).then(pl.col("close") * 1.05)
        .otherwise(pl.col("close")).alias("close"),
        pl.when(pl.col("open_time").dt.epoch("ms") == t).then(pl.col("high") * 1.05)
        .otherwise(pl.col("high")).alias("high"))
    doctored.write_parquet(path)
    old_close = doctored.filter(pl.col("open_time").dt.epoch("ms") == t)["close"][0]
    res = run("fetch", "ETH/USDT", "--since", _day(earlier), "--config", cfg,
              "--cache-dir", str(cdir))
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert "; 60 new, 1 changed upstream (cached kept), " in lines[0], lines[0]
    warn = [ln for ln in lines if ln.startswith("  warning: ")]
    assert len(warn) == 1 and f"{_day(t)} 00:00 (" in warn[0]
    assert f"close {old_close:g} -> " in warn[0] and "kept the cached values" in warn[0]
    after = cache.load(cdir, "binance", "ETH/USDT", "1d")
    assert after.height == doctored.height + 60
    assert after.filter(pl.col("open_time").dt.epoch("ms") == t)["close"][0] == old_close
    assert after.join(doctored, on="open_time", suffix="_d").filter(
        pl.col("close") != pl.col("close_d")).height == 0  # no cached candle rewritten


def test_one_rule_for_every_refresh_the_cache_keeps_its_candle(tmp_path):
    """Both refresh paths (forward and back-fill) end in cache.store: a clash is the same."""
    frame = pl.read_parquet(SAMPLE).tail(10)
    cache.store(tmp_path, "binance", "BTC/USDT", "1d", frame.head(6))
    before = cache.cache_path(tmp_path, "binance", "BTC/USDT", "1d").read_bytes()
    again = frame.with_columns(pl.when(pl.int_range(pl.len()) == 4).then(pl.col("volume") + 1)
                               .otherwise(pl.col("volume")).alias("volume"))
    changed: list = []
    merged = cache.store(tmp_path, "binance", "BTC/USDT", "1d", again, changed)
    assert [n for n, _ in changed] == [1] and "volume" in changed[0][1]
    assert merged.height == 10
    assert merged["volume"].to_list()[:6] == frame["volume"].to_list()[:6]  # cached kept
    assert merged["volume"].to_list()[6:] == again["volume"].to_list()[6:]
    # the same clash with nothing new: nothing is written at all
    path = cache.cache_path(tmp_path, "binance", "BTC/USDT", "1d")
    cache.store(tmp_path, "binance", "BTC/USDT", "1d", frame.head(6))
    assert before != path.read_bytes()  # (the second store added four candles)
    now = path.read_bytes()
    changed = []
    cache.store(tmp_path, "binance", "BTC/USDT", "1d", again.head(6), changed)
    assert path.read_bytes() == now and [n for n, _ in changed] == [1]
