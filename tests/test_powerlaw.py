"""Power law: the fit against numpy.polyfit on the same points read independently (csv),
point in time, and the published set evaluated by hand."""

from __future__ import annotations

import csv
import math
from datetime import UTC, date, datetime

import numpy as np
import pytest

import btcscan.api as bs
from btcscan.analysis.powerlaw import is_btc
from tests.conftest import SHARED_DATA

GENESIS = date(2009, 1, 3)


def _xy(rows, until: date):
    pts = [(r["t"].date(), r["close"]) for r in rows if r["t"].date() <= until and r["close"] > 0]
    x = np.log10([(d - GENESIS).days for d, _ in pts])
    y = np.log10([c for _, c in pts])
    return x, y


@pytest.mark.parametrize("asof", ["2026-04-18", "2022-11-21", "2017-12-16"])
def test_fit_matches_polyfit_on_the_same_points(btc_rows, asof):
    until = date.fromisoformat(asof)
    x, y = _xy(btc_rows, until)
    n, log10_a = np.polyfit(x, y, 1)
    resid = y - (log10_a + n * x)
    sigma = math.sqrt((resid ** 2).sum() / (x.size - 2))
    days_at_scan = (until - GENESIS).days + 1  # the scan time is the END of the asof day
    fair = 10 ** (log10_a + n * math.log10(days_at_scan))

    r = bs.scan(sample=True, timeframe="1w", asof=asof).series[0]
    fit, pub = r.context.power_law
    assert fit.label == "fit on this series"
    assert fit.points == x.size
    assert fit.exponent == pytest.approx(n, rel=1e-9)
    assert fit.log10_a == pytest.approx(log10_a, rel=1e-9)
    assert fit.sigma == pytest.approx(sigma, rel=1e-9)
    assert fit.fair_value == pytest.approx(fair, rel=1e-9)
    latest = next(row["close"] for row in btc_rows if row["t"].date() == until)
    assert fit.price_to_fair == pytest.approx(latest / fair, rel=1e-9)
    assert fit.residual_sigmas == pytest.approx((math.log10(latest) - math.log10(fair)) / sigma)
    bands = {b.label: b.price for b in fit.bands}
    assert bands["+1 sigma"] == pytest.approx(fair * 10 ** sigma, rel=1e-9)
    assert bands["-2 sigma"] == pytest.approx(fair * 10 ** (-2 * sigma), rel=1e-9)
    # the published set, by hand: A=1.0117e-17, n=5.82, floor 0.42x
    pub_fair = 1.0117e-17 * days_at_scan ** 5.82
    assert pub.fair_value == pytest.approx(pub_fair, rel=1e-9)
    assert "bitcoinfairprice" in pub.label
    assert pub.bands[0].price == pytest.approx(0.42 * pub_fair, rel=1e-9)


def test_fit_is_point_in_time(btc_rows):
    """A fit as of 2018 must not change when later data exists: compare against a fit on a
    series that really ends then (a cut file)."""
    early = bs.scan(sample=True, asof="2018-06-30").series[0].context.power_law[0]
    x, y = _xy(btc_rows, date(2018, 6, 30))
    assert early.exponent == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-9)
    assert early.last == datetime(2018, 6, 30, tzinfo=UTC)


def test_fit_close_to_a_fit_on_independent_coin_metrics_closes():
    """Independent data (Coin Metrics to 2019, since 2010): the exponent of the sample fit
    is within 0.3 of it, and both are in the 5.3..6.0 range DOMAIN.md reports (~5.7)."""
    with (SHARED_DATA / "btc_close_since_2010.csv").open() as fh:
        rows = [(date.fromisoformat(r["date"]), float(r["close"])) for r in csv.DictReader(fh)]
    x = np.log10([(d - GENESIS).days for d, _ in rows])
    y = np.log10([c for _, c in rows])
    n_cm = np.polyfit(x, y, 1)[0]
    fit = bs.scan(sample=True).series[0].context.power_law[0]
    assert 5.3 < n_cm < 6.0
    assert abs(fit.exponent - n_cm) < 0.3


def test_power_law_only_for_btc_unless_forced():
    from dataclasses import replace

    from btcscan.settings import ScanSettings

    eth = bs.scan(sample=True, symbols=["ETH/USDT"]).series[0]
    assert eth.context.power_law == ()
    assert eth.context.drawdown.pct < 0  # the rest of the context is still there
    forced = bs.scan(sample=True, symbols=["ETH/USDT"],
                     settings=replace(ScanSettings(), power_law=True)).series[0]
    assert len(forced.context.power_law) == 2
    assert any("forced" in n for n in forced.context.notes)
    off = bs.scan(sample=True, settings=replace(ScanSettings(), power_law=False)).series[0]
    assert off.context.power_law == ()


@pytest.mark.parametrize("symbol,expected", [
    ("BTC/USD", True), ("btc/usdt", True), ("XBT-EUR", True), ("BTC_USDT", True),
    ("btcusd_1d", True), ("BTCUSDT", True), ("xbteur", True),
    ("ETH/BTC", False), ("WBTC/USDT", False), ("mydata", False), ("BTCDOM/USDT", False),
    ("ethusdt_1d", False),
])
def test_is_btc(symbol, expected):
    assert is_btc(symbol) is expected


def test_cli_power_law_switches():
    import json

    from click.testing import CliRunner

    from btcscan.cli import cli

    def laws(*args):
        res = CliRunner().invoke(cli, ["scan", "--sample", *args, "--format", "json"],
                                 catch_exceptions=False)
        return [p["label"] for p in json.loads(res.stdout)["series"][0]["context"]["power_law"]]

    assert laws() == ["fit on this series", "Santostasi (bitcoinfairprice.com)"]
    assert laws("--no-power-law") == []
    assert laws("ETH/USDT") == []
    assert laws("ETH/USDT", "--power-law")[0] == "fit on this series"


def test_power_law_levels_join_the_ladder():
    from btcscan.analysis.levels import flatten

    r = bs.scan(sample=True).series[0]
    fit, pub = r.context.power_law
    pl = {lv.label: lv.price for lv in flatten(r.levels) if lv.kind == "power_law"}
    # nearest eight rows on each side of 75,737: the -1 sigma band (64,991) is grouped into
    # the row of the previous month's low (64,955, within 1% of the price); the published
    # floor (55,779) is a row; the fair values (124k, 133k) are further than eight other rows
    assert pl == {"power-law -1 sigma (fit on this series)": fit.bands[1].price,
                  "power-law floor (0.42x fair) (Santostasi (bitcoinfairprice.com))":
                  pub.bands[0].price}
    (row,) = [lv for lv in r.levels if fit.bands[1].price in [g.price for g in lv.grouped]]
    assert row.kind == "prev_month_low"
    above = [lv for lv in r.levels if lv.side == "above"]
    below = [lv for lv in r.levels if lv.side == "below"]
    assert len(above) <= 8 and len(below) <= 8
    d = [abs(lv.distance_pct) for lv in r.levels]
    assert d == sorted(d)
