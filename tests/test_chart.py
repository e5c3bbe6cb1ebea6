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


# -- issue 16: labels in the frame, levels near the prices, the market named, past events --


def _drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return fig.canvas.get_renderer()


@pytest.mark.parametrize("tf,asof", [("1w", None), ("1d", "2025-11-15")])
def test_level_labels_stay_inside_the_price_panel(tf, asof):
    report = bs.scan(sample=True, timeframe=tf, asof=asof).series[0]
    fig = build_figure(load_sample(), report)
    renderer = _drawn(fig)
    price_ax = fig.axes[0]
    frame = price_ax.get_window_extent(renderer)
    texts = {t.get_text(): t.get_window_extent(renderer) for t in price_ax.texts}
    assert texts
    for text, box in texts.items():
        assert frame.x0 - 0.5 <= box.x0 and box.x1 <= frame.x1 + 0.5, text
        assert frame.y0 - 0.5 <= box.y0 and box.y1 <= frame.y1 + 0.5, text
    wanted = {"1w": ("all-time high 126,272", "round number 100,000 (major)"),
              "1d": ("all-time high 126,272", "round number 100,000 (major)", "76,149 target",
                     "116,381 invalidation")}[tf]
    for start in wanted:
        assert any(t.startswith(start) for t in texts), start


def _four_hour_csv(path, n: int = 600):
    """A 4-hour random walk near 67,000 (+-0.4% a candle): round numbers 50,000..100,000
    are within the old 1.35x reach of its prices."""
    rng = np.random.default_rng(16)
    c = 67_000 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    o = np.concatenate(([67_000.0], c[:-1]))
    rows = ["timestamp_ms_utc,open,high,low,close,volume"]
    t0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
    for i in range(n):
        hi, lo = max(o[i], c[i]) * 1.001, min(o[i], c[i]) * 0.999
        rows.append(f"{t0 + i * 14_400_000},{o[i]:.2f},{hi:.2f},{lo:.2f},{c[i]:.2f},{10 + i % 7}")
    path.write_text("\n".join(rows) + "\n")
    return path, rng


def test_four_hour_chart_keeps_its_price_axis_near_the_candles(tmp_path):
    import csv

    path, _ = _four_hour_csv(tmp_path / "x4h.csv")
    report = bs.scan(files=[str(path)], timeframe="4h").series[0]
    fig = build_figure(bs.load_sources(files=[str(path)])[0], report)
    price_ax = fig.axes[0]
    rows = list(csv.DictReader(path.open()))[-200:]  # the 200 candles shown
    lo, hi = min(float(r["low"]) for r in rows), max(float(r["high"]) for r in rows)
    y0, y1 = price_ax.get_ylim()
    assert lo * 0.9 < y0 <= lo and hi <= y1 < hi * 1.1
    for label, ln in lines(price_ax).items():
        if label.startswith("level: round"):
            assert y0 <= ln.get_ydata()[0] <= y1, label
    # the axis names the market; for a file that names none, the file
    assert price_ax.get_ylabel() == "price (file x4h.csv)"
    assert fig.axes[2].xaxis.get_major_formatter()(report.candles - 1) == \
        f"{report.last_closed.open_time:%Y-%m-%d %H:%M}"


def test_price_axis_names_the_market():
    report = bs.scan(sample=True).series[0]
    assert build_figure(load_sample(), report).axes[0].get_ylabel() == "BTC/USD price"


def test_scan_chart_marks_past_pattern_events_when_asked(btc_rows):
    report = bs.scan(sample=True, timeframe="1d", asof="2025-11-15").series[0]
    fig = build_figure(load_sample(), report, bars=400, pattern_events=True)
    price_ax = fig.axes[0]
    first = int(price_ax.get_xlim()[0]) + 1
    shown = [e for e in report.patterns.events if e.known_at_bar >= first]
    assert len(shown) >= 5
    marks = {c.get_gid(): c for c in price_ax.collections
             if str(c.get_gid()).startswith("past-")}
    assert sum(len(m.get_offsets()) for m in marks.values()) == len(shown)
    closes = {r["t"].date(): r["close"] for r in btc_rows}
    for e in shown:
        x, y = marks[f"past-{e.kind}"].get_offsets()[
            [ev.known_at_bar for ev in shown if ev.kind == e.kind].index(e.known_at_bar)]
        assert x == e.known_at_bar and y == closes[e.known_at.date()]
    # the legend says how many of each kind it shows; without the option none are drawn
    legend = [t.get_text() for t in price_ax.get_legend().get_texts()]
    n_bearish = sum(e.kind == "divergence_regular_bearish" for e in shown)
    assert f"past regular bearish RSI divergence ({n_bearish})" in legend
    plain = build_figure(load_sample(), report)
    assert not [c for c in plain.axes[0].collections if str(c.get_gid()).startswith("past-")]


def test_stats_chart_of_the_whole_history_is_readable(btc_rows):
    from btcscan.stats.run import stats_candles

    c = load_sample("BTC/USD")
    r = bs.scan_candles([c], timeframe="1d").series[0]
    s = stats_candles([c], timeframe="1d").series[0]
    fig = build_figure(c, r, bars=r.candles, past_events=s.events)
    renderer = _drawn(fig)
    price_ax, vol_ax, _ = fig.axes
    # 5,000+ daily candles: a close line, not candles under a pixel wide
    assert not [k for k in price_ax.containers if k.get_label() == "_candles"]
    closes = lines(price_ax)["close (daily)"].get_ydata()
    assert list(closes) == [row["close"] for row in btc_rows]
    # plain ticks on a log axis: whole numbers without decimals, a handful of them
    ticks = [t.get_text() for t in price_ax.get_yticklabels()
             if t.get_text() and price_ax.get_ylim()[0] <= t.get_position()[1]
             <= price_ax.get_ylim()[1]]
    assert price_ax.get_yscale() == "log" and 4 <= len(ticks) <= 8
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", t) for t in ticks), ticks
    # no label per event: the only texts on the price panel are level labels
    assert len(price_ax.texts) <= 2
    assert len(s.events) > 500
    # volume changes by orders of magnitude over 14 years: a log panel
    assert vol_ax.get_yscale() == "log"
    del renderer


def test_html_page_is_self_contained_and_draws_the_scan(tmp_path, btc_rows):
    out = tmp_path / "btc.html"
    res = CliRunner().invoke(cli, ["scan", "--sample", "--chart", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    page = out.read_text()
    assert "<script src" not in page and "<link" not in page  # nothing loaded from anywhere
    assert 'id="btcscan-chart"' in page and "Plotly.newPlot" in page
    again = tmp_path / "again.html"
    CliRunner().invoke(cli, ["scan", "--sample", "--chart", str(again)], catch_exceptions=False)
    assert again.read_bytes() == out.read_bytes()  # the same data gives the same page
    from btcscan.render.chart import chart_view
    from btcscan.render.html_chart import build_html_figure

    report = bs.scan(sample=True).series[0]
    fig = build_html_figure(chart_view(load_sample(), report, pattern_events=True))
    by_name = {t.name: t for t in fig.data}
    candles = by_name["BTC/USD weekly candles"]
    weekly = weekly_closes_until(btc_rows, date(2026, 4, 18))
    assert list(candles.close) == [c for _, c in weekly]
    from datetime import UTC, datetime

    assert candles.x[-1] == datetime(2026, 4, 6, tzinfo=UTC).timestamp() * 1000
    assert fig.layout.xaxis.hoverformat.endswith("UTC")
    assert by_name["RSI 14"].yaxis == "y3"
    past = [t for t in fig.data if (t.name or "").startswith("past ")]
    assert past and all(t.visible == "legendonly" for t in past)
    shown = build_html_figure(chart_view(load_sample(), report, pattern_events=True),
                              show_past=True)
    assert all(t.visible is True for t in shown.data if (t.name or "").startswith("past "))
    # the report's level ladder, every rung, right of the last candle with its source
    ladder = [t for t in fig.data if t.legendgroup == "ladder"]
    rungs = [x for row in report.levels for x in (row, *row.grouped)]  # grouped rows too
    assert [t.y[0] for t in ladder] == [lv.price for lv in rungs]
    assert all(t.x[0] > candles.x[-1] for t in ladder)
    assert all(lv.source in t.text[0] for lv, t in zip(rungs, ladder, strict=True))
    assert sum(t.showlegend is not False for t in ladder) == 1  # one legend entry
    # earlier divergences: one segment each on the RSI panel (and on the price), hidden
    p = report.patterns
    earlier = [d for d in p.divergences if d not in p.active_divergences]
    (rsi_segs,) = [t for t in fig.data if t.legendgroup == "past-divergences" and
                   t.yaxis == "y3"]
    assert len(earlier) > 0 and list(rsi_segs.y) == [
        v for d in earlier for v in (d.first_rsi, d.second_rsi, None)]
    assert rsi_segs.visible == "legendonly"
    # the first view is the PNG's window: 200 weekly candles and room for the labels
    x0, x1 = fig.layout.xaxis.range
    assert candles.x[-201] <= x0 < candles.x[-200] and x1 > candles.x[-1]


def test_html_overlays_are_the_engine_s(btc_rows):
    from btcscan.render.chart import chart_view
    from btcscan.render.html_chart import build_html_figure

    base = bs.scan(sample=True).series[0]
    n = base.candles
    last = n - 1
    w = wedge("rising", "broke_down", state_at_bar=last - 2, start=n - 60, end=n - 10,
              last_bar=last, top=110_000.0, bottom=95_000.0)
    d = divergence("regular_bearish", known_at_bar=n - 30)
    report = replace(base, patterns=pattern_report(last, wedges=(w,), divergences=(d,)))
    fig = build_html_figure(chart_view(load_sample(), report, bars=40))
    by_name = {t.name: t for t in fig.data}
    x = by_name["BTC/USD weekly candles"].x
    upper = by_name["rising wedge upper line (broke_down)"]
    assert list(upper.x) == [x[n - 60], x[last]]
    assert upper.y[-1] == pytest.approx(w.upper.start_price + w.upper.slope_per_bar * 59)
    mark = next(t for t in fig.data if (t.name or "").startswith("breakdown close"))
    assert list(mark.x) == [x[last - 2]]
    assert mark.y[0] == weekly_closes_until(btc_rows, date(2026, 4, 18))[-3][1]
    levels = {t.y[0]: t.name for t in fig.data if t.legendgroup and
              t.legendgroup.startswith("levels-")}
    assert "target" in levels[95_000.0] and "invalidation" in levels[110_000.0 * 1.12]
    segs = [t for t in fig.data if t.legendgroup == f"regular bearish divergence (known "
            f"{_day(d.known_at_ms)})"]
    rsi_seg = next(t for t in segs if t.yaxis == "y3")
    assert list(rsi_seg.x) == [x[d.first_bar], x[d.second_bar]]
    assert list(rsi_seg.y) == [d.first_rsi, d.second_rsi]


def test_stats_writes_an_html_chart(tmp_path):
    out = tmp_path / "s.html"
    res = CliRunner().invoke(cli, ["stats", "--sample", "--chart", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0 and f"chart written to {out}" in res.stderr
    page = out.read_text()
    assert "<script src" not in page and "past long events: reached target" in page


def test_plotly_is_imported_only_for_an_html_chart(tmp_path):
    import subprocess
    import sys

    code = ("import sys\n"
            "from btcscan.cli import cli\n"
            f"cli(['scan', '--sample', '--chart', {str(tmp_path / 'c.png')!r}, '-q'],"
            " standalone_mode=False)\n"
            "print('plotly' in sys.modules, 'matplotlib' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]


def test_a_chart_that_cannot_be_written_is_a_usage_error(tmp_path, monkeypatch):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    res = CliRunner().invoke(cli, ["scan", "--sample", "--chart", str(blocker / "c.html")],
                             catch_exceptions=False)
    assert res.exit_code == 2 and res.stderr.count("\n") == 1
    assert "is a file, not a folder" in res.stderr  # refused before the scan
    # a write that fails half-way (a full disk) leaves the previous chart as it was
    import btcscan.render.html_chart as html_chart

    def full_disk(view, path, show_past=False):
        path.write_text("<html>half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(html_chart, "write_html", full_disk)
    out = tmp_path / "c.html"
    out.write_text("previous chart")
    res = CliRunner().invoke(cli, ["scan", "--sample", "--chart", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 2 and "No space left on device" in res.stderr
    assert out.read_text() == "previous chart"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "c.html"]


def test_ticks_of_a_market_under_one_dollar_are_plain():
    report = bs.scan(sample=True, symbols=["DOGE/USDT"], timeframe="1d",
                     asof="2026-03-03").series[0]
    fig = build_figure(load_sample("DOGE/USDT"), report)
    _drawn(fig)
    price_ax, vol_ax, _ = fig.axes
    lo, hi = price_ax.get_ylim()
    ticks = [t.get_text() for t in price_ax.get_yticklabels()
             if t.get_text() and lo <= t.get_position()[1] <= hi]
    assert len(ticks) >= 4 and all(re.fullmatch(r"0\.\d*[1-9]", t) for t in ticks), ticks
    assert "0.1" in ticks and "0.2" in ticks
    vol = [t.get_text() for t in vol_ax.get_yticklabels() if t.get_text()]
    assert vol_ax.yaxis.get_offset_text().get_text() == ""
    assert any(t.endswith("B") for t in vol), vol  # DOGE trades billions a day
