"""RSI at any price scale (issue 14): TA-Lib calls average moves under 1e-8 "zero" and returns
RSI 0.0, so on a satoshi-priced pair RSI was 0.0 throughout and divergences vanished. The
closes handed to the RSI kernel are now scaled by a power of ten; these tests take real
bundled series, divide them by 1e8 (and more), and require the same RSI and the same
divergences, with prices still reported in the pair's own units."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from btcscan.cli import cli
from btcscan.data.sample import load_sample
from btcscan.indicators import rsi, rsi_scale
from btcscan.kernels.rolling import rsi as kernel_rsi
from btcscan.patterns import detect_patterns
from tests.conftest import REPO, write_csv

SAMPLE = REPO / "btcscan" / "data" / "sample"


def arrays(symbol: str, factor: float = 1.0) -> dict[str, np.ndarray]:
    a = load_sample(symbol).arrays()
    return {k: (v * factor if k in ("open", "high", "low", "close") else v)
            for k, v in a.items()}


@pytest.mark.parametrize("symbol,factor", [("BTC/USD", 1e-8), ("ETH/USDT", 1e-10),
                                           ("DOGE/USDT", 1e-6), ("ETH/USDT", 1e-12)])
def test_rsi_of_a_satoshi_priced_series_equals_the_unscaled_one(symbol, factor):
    close = arrays(symbol)["close"]
    tiny = close * factor
    want = kernel_rsi(close, 14)
    broken = kernel_rsi(tiny, 14)  # what the report used to show: the kernel alone
    wrong = np.abs(broken - want) > 1
    assert (broken[wrong] == 0.0).all() and wrong.sum() >= 10, "must reach TA-Lib's zero"
    got = rsi(tiny, 14)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-9,
                               atol=1e-9)


def test_ordinary_prices_are_not_scaled_so_rsi_stays_talib_to_the_bit():
    for symbol in ("BTC/USD", "DOGE/USDT", "ADA/USDT", "XRP/USDT"):
        close = arrays(symbol)["close"]
        assert rsi_scale(close) == 1.0
        assert np.array_equal(rsi(close, 14), kernel_rsi(close, 14), equal_nan=True)
    assert rsi_scale(np.array([2e-8, 5e-8, 1e-7])) == 1e8


@pytest.mark.parametrize("symbol,factor", [("BTC/USD", 1e-8), ("ETH/USDT", 1e-10),
                                           ("DOGE/USDT", 1e-8)])
def test_divergences_of_the_scaled_series_are_the_same(symbol, factor):
    base = detect_patterns(arrays(symbol))
    tiny = detect_patterns(arrays(symbol, factor))
    assert len(base.divergences) > 10  # a real history has many
    key = [(d.kind, d.first_bar, d.second_bar, d.known_at_bar) for d in base.divergences]
    assert [(d.kind, d.first_bar, d.second_bar, d.known_at_bar)
            for d in tiny.divergences] == key
    for a, b in zip(base.divergences, tiny.divergences, strict=True):
        assert b.first_price == pytest.approx(a.first_price * factor, rel=1e-12, abs=0)
        assert b.second_rsi == pytest.approx(a.second_rsi, rel=1e-9)
    assert [(w.kind, w.state, w.known_at_bar) for w in tiny.wedges] == [
        (w.kind, w.state, w.known_at_bar) for w in base.wedges]


def _file(tmp_path, name: str, factor: float):
    df = pl.read_parquet(SAMPLE / "binance_eth-usdt_1d.parquet")
    rows = [[t, *(v * factor for v in r[:4]), r[4]] for t, r in zip(
        df["open_time"].dt.epoch("ms").to_list(),
        df.select("open", "high", "low", "close", "volume").rows(), strict=True)]
    return write_csv(tmp_path / name, ["timestamp", "open", "high", "low", "close", "volume"],
                     rows), rows


def test_a_satoshi_priced_file_scans_with_the_same_rsi_and_signals(tmp_path):
    plain, _ = _file(tmp_path, "ethusdt.csv", 1.0)
    sats, rows = _file(tmp_path, "ethsats.csv", 1e-11)  # 1e-8..5e-8 at 2024's prices
    docs = []
    for p in (plain, sats):
        res = CliRunner().invoke(cli, ["scan", "--from-file", str(p), "-t", "1d",
                                       "--asof", "2024-03-11", "--format", "json"],
                                 catch_exceptions=False)
        assert res.exit_code == 0, res.stderr
        docs.append(json.loads(res.stdout))
    a, b = (d["series"][0] for d in docs)
    assert 0 < a["rsi"]["value"] < 100
    assert b["rsi"]["value"] == pytest.approx(a["rsi"]["value"], rel=1e-9)
    # the smallest close up to the scan, about 8e-10, is brought to [1, 10)
    assert "closes x 1e+10 first" in b["rsi"]["method"]
    assert "x 1e" not in a["rsi"]["method"]
    # prices stay in the pair's own units
    day = int(datetime(2024, 3, 11, tzinfo=UTC).timestamp() * 1000)  # the last closed candle
    close = next(r[4] for r in rows if r[0] == day)
    assert b["last_closed"]["close"] == pytest.approx(close, rel=1e-12, abs=0)
    assert b["last_closed"]["close"] == pytest.approx(a["last_closed"]["close"] * 1e-11,
                                                      rel=1e-12, abs=0)
    pa, pb = a["patterns"], b["patterns"]
    assert [(d["kind"], d["known_at"]) for d in pb["divergences"]] == [
        (d["kind"], d["known_at"]) for d in pa["divergences"]] != []
