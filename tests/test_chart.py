"""The chart, rendered offscreen (Agg) for the sample: image size, title, and the drawn
elements checked through the figure's artists against independent computations."""

from __future__ import annotations

import re
import struct
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
import talib
from click.testing import CliRunner
from matplotlib.lines import Line2D

import btcscan.api as bs
from btcscan.cli import cli
from btcscan.data.sample import load_sample
from btcscan.render.chart import build_figure
from btcscan.settings import ScanSettings
from tests.helpers_weekly import weekly_closes_until
from tests.pattern_fakes import divergence, pattern_report, wedge


def png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def lines(ax) -> dict[str, Line2D]:
    return {ln.get_label(): ln for ln in ax.get_lines()}


@pytest.mark.parametrize("tf,asof", [("1w", None), ("1d", "2022-11-21")])
def test_cli_writes_a_1600x900_png(tmp_path, tf, asof):
    out = tmp_path / f"btc-{tf}.png"
    args = ["scan", "--sample", "-t", tf, "--chart", str(out), "--format", "json"]
    res = CliRunner().invoke(cli, args + (["--asof", asof] if asof else []),
                             catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    assert png_size(out) == (1600, 900)
    assert f"chart written to {out}" in res.stderr and str(out) not in res.stdout


def test_svg_and_bad_suffix(tmp_path):
    out = tmp_path / "btc.svg"
    res = CliRunner().invoke(cli, ["scan", "--sample", "--chart", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0
    text = out.read_text()
    w, h = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', text).groups())
    assert w / h == pytest.approx(16 / 9)
    bad = CliRunner().invoke(cli, ["scan", "--sample", "--chart", str(tmp_path / "x.jpg")])
    assert bad.exit_code == 2 and ".png, .svg or .html" in bad.stderr
    events = CliRunner().invoke(cli, ["scan", "--sample", "--chart-events"])
    assert events.exit_code == 2 and "add --chart PATH" in events.stderr


def test_weekly_figure_elements(btc_rows):
    report = bs.scan(sample=True).series[0]
    fig = build_figure(load_sample(), report, ScanSettings(), bars=200)
    assert tuple(fig.get_size_inches() * fig.dpi) == (1600, 900)
    title = fig._suptitle.get_text()
    for word in ("BTC/USD", "weekly", "2026-04-18", "Bitstamp"):
        assert word in title
    price_ax, vol_ax, rsi_ax = fig.axes
    weekly = weekly_closes_until(btc_rows, date(2026, 4, 18))
    closes = np.array([c for _, c in weekly])
    got = lines(price_ax)
    for n in (50, 100):
        y = got[f"SMA {n} (weekly closes)"].get_ydata()
        assert len(y) == 200
        assert y[-1] == pytest.approx(talib.SMA(closes, n)[-1], rel=1e-12)
        assert y[0] == pytest.approx(talib.SMA(closes, n)[-200], rel=1e-12)
    rsi_line = lines(rsi_ax)["RSI 14"].get_ydata()
    assert rsi_line[-1] == pytest.approx(talib.RSI(closes, 14)[-1], abs=1e-9)
    # candle bodies: 200 of them, the last one spans the last week's open..close
    bodies = next(c for c in price_ax.containers if c.get_label() == "_candles")
    assert len(bodies) == 200
    last = bodies[-1]
    week_rows = [r for r in btc_rows if weekly[-1][0] <= r["t"].date()][:7]
    lo, hi = sorted((week_rows[0]["open"], week_rows[-1]["close"]))
    assert last.get_y() == pytest.approx(lo) and last.get_y() + last.get_height() == \
        pytest.approx(hi)
    volume = next(c for c in vol_ax.containers if c.get_label() == "volume")
    assert volume[-1].get_height() == pytest.approx(sum(r["volume"] for r in week_rows))
    # round numbers near the price, drawn as labelled horizontal levels
    levels = {ln.get_ydata()[0] for label, ln in got.items() if label.startswith("level: round")}
    assert {60_000, 70_000, 80_000, 90_000} <= levels
    assert any(label.startswith("level: all-time high") for label in got)
    assert "power-law fair value (fit on this series, n=5.63)" in got


def test_patterns_are_drawn_where_the_engine_put_them(btc_rows):
    base = bs.scan(sample=True).series[0]
    n = base.candles
    last = n - 1
    w = wedge("rising", "broke_down", state_at_bar=last - 2, start=n - 60, end=n - 10,
              last_bar=last, top=110_000.0, bottom=95_000.0)
    d = divergence("regular_bearish", known_at_bar=n - 30)
    report = replace(base, patterns=pattern_report(last, wedges=(w,), divergences=(d,)))
    fig = build_figure(load_sample(), report, ScanSettings(), bars=40)
    price_ax, _, rsi_ax = fig.axes
    got = lines(price_ax)
    upper = got["rising wedge upper line (broke_down)"]
    lower = got["rising wedge lower line (broke_down)"]
    # both lines run from their first pivot to the last closed candle
    assert list(upper.get_xdata()) == [n - 60, last]
    assert upper.get_ydata()[-1] == pytest.approx(w.upper.start_price + w.upper.slope_per_bar * 59)
    assert lower.get_ydata()[0] == w.lower.start_price
    # the window reached back to the wedge although only 40 bars were asked for
    assert price_ax.get_xlim()[0] <= n - 60
    # the breakdown candle is marked at its close
    marks = [c for c in price_ax.collections if c.get_label().startswith("breakdown close")]
    assert len(marks) == 1
    x, y = marks[0].get_offsets()[0]
    assert x == last - 2
    assert y == weekly_closes_until(btc_rows, date(2026, 4, 18))[-3][1]
    # target and invalidation as labelled levels at the engine's prices
    tgt = {ln.get_ydata()[0]: label for label, ln in got.items() if label.startswith("level: ")}
    assert "target" in tgt[95_000.0] and "invalidation" in tgt[110_000.0 * 1.12]
    # the divergence joins its two pivots on the RSI panel
    seg = lines(rsi_ax)["regular bearish divergence (known " + \
        f"{_day(d.known_at_ms)})"]
    assert list(seg.get_xdata()) == [d.first_bar, d.second_bar]
    assert list(seg.get_ydata()) == [d.first_rsi, d.second_rsi]


def _day(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def test_one_chart_per_market(tmp_path):
    out = tmp_path / "c.png"
    res = CliRunner().invoke(cli, ["scan", "--sample", "BTC/USD", "ETH/USDT", "-t", "1d",
                                   "--chart", str(out), "--format", "ndjson"],
                             catch_exceptions=False)
    assert res.exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c-BTC-USD.png", "c-ETH-USDT.png"]
    assert png_size(tmp_path / "c-ETH-USDT.png") == (1600, 900)


def test_real_engine_wedge_is_drawn(btc_rows):
    """Daily BTC as of 2025-11-15: the engine's falling wedge broke down on the close of
    2025-11-14 (that close, 94,509 in the CSV, is below the lower line); its lines,
    the breakdown mark and its target/invalidation levels are on the chart."""
    report = bs.scan(sample=True, timeframe="1d", asof="2025-11-15").series[0]
    (w,) = [w for w in report.patterns.active_wedges if w.state == "broke_down"]
    fig = build_figure(load_sample(), report)
    price_ax = fig.axes[0]
    got = lines(price_ax)
    assert got["falling wedge lower line (broke_down)"].get_ydata()[-1] == \
        pytest.approx(w.lower.value_at(report.candles - 1))
    (mark,) = [c for c in price_ax.collections if c.get_label().startswith("breakdown close")]
    x, y = mark.get_offsets()[0]
    close_1114 = next(r["close"] for r in btc_rows if r["t"].date() == date(2025, 11, 14))
    assert y == close_1114 and y < w.lower.value_at(x)
    levels = {round(ln.get_ydata()[0], 6) for label, ln in got.items()
              if label.startswith("level:")}
    assert {round(t.price, 6) for t in w.targets} <= levels
