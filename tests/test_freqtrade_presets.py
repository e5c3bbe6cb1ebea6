"""freqtrade's data-dir files (.json, .json.gz, .feather), a CSV without volume, --symbol,
a preset's watchlist from the bundled sample, and options that cannot apply."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import polars as pl
import pytest
from click.testing import CliRunner

import btcscan.api as bs
from btcscan.cli import cli
from tests.conftest import REPO, write_csv


@pytest.fixture(scope="module")
def btc_days(tmp_path_factory):
    """The bundled BTC/USD daily candles from 2020 on, as plain rows (ms, o, h, l, c, v)."""
    from btcscan.data.sample import load_sample

    f = load_sample().frame.filter(pl.col("open_time") >= datetime(2020, 1, 1, tzinfo=UTC))
    return [[int(r["open_time"].timestamp() * 1000), r["open"], r["high"], r["low"],
             r["close"], r["volume"]] for r in f.iter_rows(named=True)]


def scan_json(*args):
    res = CliRunner().invoke(cli, ["scan", *args, "--format", "json"], catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout), res.stderr


def test_freqtrade_json_and_gz_read_like_the_csv(tmp_path, btc_days):
    ft = tmp_path / "BTC_USDT-1d.json"
    ft.write_text(json.dumps(btc_days))  # freqtrade's JsonDataHandler: orient="values"
    gz = tmp_path / "BTC_USDT-1w.json.gz"
    with gzip.open(gz, "wt") as fh:
        json.dump(btc_days, fh)
    csv = write_csv(tmp_path / "same.csv", ["timestamp", "open", "high", "low", "close",
                                            "volume"], btc_days)
    a, b, c = (bs.load_file(p) for p in (ft, gz, csv))
    assert a.frame.equals(c.frame) and b.frame.equals(c.frame)
    assert a.timeframe.text == "1d" and len(a) == len(btc_days)
    assert b.source.symbol == "BTC_USDT-1w"  # .json.gz: the name without both suffixes
    doc, _ = scan_json("--from-file", str(ft), "-t", "1w")
    assert doc["series"][0]["last_closed"]["close"] == pytest.approx(
        bs.scan(files=[str(csv)]).series[0].last_closed.close)


def test_freqtrade_feather(tmp_path, btc_days):
    path = tmp_path / "BTC_USDT-1d.feather"
    pl.DataFrame({
        "date": pl.Series([r[0] for r in btc_days]).cast(pl.Datetime("ms"))
        .dt.replace_time_zone("UTC").dt.cast_time_unit("ns"),
        **{k: [r[i + 1] for r in btc_days] for i, k in enumerate(
            ("open", "high", "low", "close", "volume"))}}).write_ipc(path, compression="lz4")
    c = bs.load_file(path)
    assert len(c) == len(btc_days) and c.frame["close"][-1] == btc_days[-1][4]
    assert c.frame["open_time"][0] == datetime(2020, 1, 1, tzinfo=UTC)


def test_a_bad_freqtrade_json_is_one_line(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"not": "candles"}')
    res = CliRunner().invoke(cli, ["scan", "--from-file", str(bad)])
    assert res.exit_code == 4
    assert "expected freqtrade's JSON candles" in res.stderr and "Traceback" not in res.stderr


def test_csv_without_volume_is_read_and_says_so(tmp_path, btc_days):
    path = write_csv(tmp_path / "novol.csv", ["date", "open", "high", "low", "close"],
                     [r[:5] for r in btc_days])
    doc, _ = scan_json("--from-file", str(path), "-t", "1d")
    s = doc["series"][0]
    assert any(n.startswith("no volume column in ") and "volume is 0" in n for n in s["notes"])
    assert bs.load_file(path).frame["volume"].sum() == 0


def test_symbol_names_the_file_market(tmp_path, btc_days):
    path = write_csv(tmp_path / "mydata.csv", ["timestamp", "open", "high", "low", "close",
                                               "volume"], btc_days)
    plain, _ = scan_json("--from-file", str(path))
    assert plain["series"][0]["context"]["power_law"] == []  # "mydata" is not BTC
    named, _ = scan_json("--from-file", str(path), "--symbol", "BTC/USD")
    s = named["series"][0]
    assert s["source"]["symbol"] == "BTC/USD" and len(s["context"]["power_law"]) == 2
    stats = CliRunner().invoke(cli, ["stats", "--from-file", str(path), "--symbol", "BTC/USD",
                                     "-t", "1d", "--format", "json"], catch_exceptions=False)
    assert json.loads(stats.stdout)["series"][0]["symbol"] == "BTC/USD"
    for args, message in ((["--sample", "--symbol", "BTC/USD"], "--symbol names the market"),
                          (["--from-file", str(path), "--from-file", str(path), "--symbol",
                            "BTC/USD"], "names the market of one file")):
        res = CliRunner().invoke(cli, ["scan", *args])
        assert res.exit_code == 2 and message in res.stderr


def test_preset_watchlist_from_the_sample():
    doc, err = scan_json("--config", str(REPO / "configs" / "majors-daily.toml"), "--sample")
    got = sorted(s["source"]["symbol"] for s in doc["series"])
    assert got == sorted(["BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "XRP/USDT",
                          "DOGE/USDT", "ADA/USDT"])
    assert all(s["source"]["kind"] == "sample" and s["timeframe"] == "1d"
               for s in doc["series"])
    weekly, err = scan_json("--config", str(REPO / "configs" / "btc-weekly.toml"), "--sample")
    assert [s["source"]["label"] for s in weekly["series"]] == [
        "bitstamp:BTC/USD (bundled sample)"]


def test_preset_market_not_bundled_is_reported(tmp_path):
    cfg = tmp_path / "p.toml"
    cfg.write_text('[watchlist]\nmarkets = ["kraken:ETH/USDT", "binance:PEPE/USDT"]\n')
    doc, err = scan_json("--config", str(cfg), "--sample", "-t", "1d")
    assert [s["source"]["symbol"] for s in doc["series"]] == ["ETH/USDT"]
    assert "btcscan: note: --sample: binance:PEPE/USDT is not in the bundled sample" in err
    assert "kraken:ETH/USDT is read from the bundled Binance ETH/USDT daily" in err


@pytest.mark.parametrize("args, said", [
    (["--sample", "--since", "2020-01-01"], "--since does not apply to --sample"),
    (["--sample", "--exchange", "kraken"], "--exchange does not apply to --sample"),
    (["--sample", "--offline"], "--offline does not apply to --sample"),
])
def test_options_that_cannot_apply_are_reported(args, said):
    res = CliRunner().invoke(cli, ["scan", *args, "--format", "json"], catch_exceptions=False)
    assert res.exit_code == 0
    assert f"btcscan: note: {said} (no candles are fetched); ignored" in res.stderr
    quiet = CliRunner().invoke(cli, ["scan", "--sample", "--format", "json"])
    assert quiet.stderr == ""


def test_stats_reports_options_that_cannot_apply():
    res = CliRunner().invoke(cli, ["stats", "--sample", "--since", "2020-01-01", "--format",
                                   "json"], catch_exceptions=False)
    assert res.exit_code == 0
    assert ("btcscan: note: --since does not apply to --sample (no candles are fetched); "
            "ignored") in res.stderr
