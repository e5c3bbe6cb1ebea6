"""The HTML chart in a real browser: headless Chromium (Debian's package; `.ci/run` installs
it when missing) opens the page from a loopback HTTP server that logs every request, and
the DevTools protocol reports every URL the page asked for. Checked: the chart drew
(plotly's SVG, one candle box per scanned candle), the screenshot is not blank and shows
both candle colours, hovering shows the candle's UTC open time and its values, a past-event
group hidden at first is shown by a click on its legend entry, and the page requested
nothing but itself."""

from __future__ import annotations

import functools
import io
import json
import os
import threading
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from click.testing import CliRunner

from btcscan.cli import cli
from tests.browser import Browser, chromium_path

ASOF = "2025-11-15"  # daily BTC: the falling wedge of Sep-Nov 2025 broke down on 11-14


@pytest.fixture(scope="module")
def served(tmp_path_factory, btc_rows):
    """The page of the daily sample scan, served on 127.0.0.1; yields (url, request log)."""
    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: CI must run .ci/run, which installs it")
        pytest.skip("chromium is not installed and CI is unset (outside CI only): "
                    "`apt-get install chromium`, or run .ci/run, which installs it")
    root = tmp_path_factory.mktemp("page")
    res = CliRunner().invoke(cli, ["scan", "--sample", "-t", "1d", "--asof", ASOF, "--chart",
                                   str(root / "chart.html"), "--format", "json"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    log: list[str] = []

    class Logged(SimpleHTTPRequestHandler):
        def parse_request(self) -> bool:
            log.append(self.raw_requestline.decode("latin-1").strip())
            return super().parse_request()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Logged, directory=str(root)))
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/chart.html", log
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def page(served):
    url, _ = served
    with Browser(width=1600, height=1000) as b:
        b.open(url)
        yield b


def test_the_chart_drew_every_candle(page, btc_rows):
    got = json.loads(page.evaluate("""JSON.stringify({
        svg: document.querySelectorAll('.plot-container .main-svg').length,
        boxes: document.querySelectorAll('.trace.boxes path.box').length,
        legend: [...document.querySelectorAll('.legendtext')].map(e => e.textContent)})"""))
    assert got["svg"] >= 1
    # one box per daily candle from the first row up to the scan date (the CSV's own rows)
    assert got["boxes"] == sum(r["t"].date() <= date(2025, 11, 15) for r in btc_rows)
    legend = got["legend"]
    for name in ("BTC/USD daily candles", "SMA 50 (daily closes)", "RSI 14",
                 "falling wedge lower line (broke_down)",
                 "breakdown close 2025-11-14 (falling wedge)"):
        assert name in legend
    assert any(t.startswith("76,149 target") for t in legend)
    assert any(t.startswith("116,381 invalidation") for t in legend)
    assert any(t.startswith("past regular bearish RSI divergence (") for t in legend)


def test_the_screenshot_is_not_blank(page):
    from matplotlib.image import imread

    img = imread(io.BytesIO(page.screenshot()), format="png")[..., :3]
    assert img.shape[:2] == (1000, 1600)
    assert img.std() > 0.05

    def near(hex_colour: str) -> int:
        rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
        return int((np.abs(img - rgb).max(axis=2) < 0.04).sum())

    # green and red candle bodies, and the broken-down wedge's dark red lines
    assert near("#26a69a") > 500 and near("#ef5350") > 500 and near("#c62828") > 200


def test_hover_shows_the_candle_in_utc(page, btc_rows):
    """Move the mouse over the last candle: the hover label gives its UTC open time and
    its close as the CSV has it."""
    pos = json.loads(page.evaluate("""(() => {
        const gd = document.getElementById('btcscan-chart');
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        const r = gd.getBoundingClientRect();
        const t = Date.UTC(2025, 10, 15);
        return JSON.stringify({x: r.left + xa._offset + xa.l2p(t),
                               y: r.top + ya._offset + ya._length / 2});
    })()"""))
    page.mouse_move(pos["x"], pos["y"])
    text = page.evaluate("document.querySelector('.hoverlayer').textContent")
    close = next(r["close"] for r in btc_rows if r["t"].date() == date(2025, 11, 15))
    assert "2025-11-15 00:00 UTC" in text
    assert f"close: {close:,.0f}" in text


def test_a_hidden_past_event_group_is_shown_by_its_legend_entry(page):
    find = """(() => {
        const gd = document.getElementById('btcscan-chart');
        const name = 'past falling wedge broke up';
        const i = gd._fullData.findIndex(t => (t.name || '').startsWith(name));
        const item = [...document.querySelectorAll('.legend .traces')]
            .find(e => e.textContent.startsWith(name));
        const r = item.querySelector('.legendtoggle').getBoundingClientRect();
        return JSON.stringify({visible: gd._fullData[i].visible,
                               x: r.left + r.width / 4, y: r.top + r.height / 2});
    })()"""
    before = json.loads(page.evaluate(find))
    assert before["visible"] == "legendonly"
    # plotly applies a legend click once its double-click delay has passed: wait for it
    page.evaluate("""window.restyled = new Promise(done => document
        .getElementById('btcscan-chart').on('plotly_restyle', () => done(true))); true""")
    page.click(before["x"], before["y"])
    assert page.evaluate("""Promise.race([window.restyled,
        new Promise(done => setTimeout(() => done(false), 5000))])""") is True
    assert json.loads(page.evaluate(find))["visible"] is True


def test_the_page_requested_nothing_but_itself(page, served):
    url, log = served
    # besides the page, only the browser's own probe for a tab icon (the page names none)
    favicon = url.rsplit("/", 1)[0] + "/favicon.ico"
    assert [u for u in page.requested_urls() if u != favicon] == [url]
    # the server saw the same: the page (and that probe), nothing else
    assert log[0] == "GET /chart.html HTTP/1.1"
    assert set(log) <= {"GET /chart.html HTTP/1.1", "GET /favicon.ico HTTP/1.1"}


def test_moving_the_time_axis_fits_the_price_axis_to_the_candles_in_view(page, btc_rows):
    """Show 2013 only (as a pan or a zoom of the time axis does): the price axis then spans
    that year's lows and highs (3% margin), read from the CSV."""
    got = json.loads(page.evaluate("""(async () => {
        const gd = document.getElementById('btcscan-chart');
        const fitted = new Promise(done => gd.on('plotly_relayout', ev => {
            if (ev['yaxis.range']) done(true); }));
        await Plotly.relayout(gd, {'xaxis.range': [Date.UTC(2013, 0, 1), Date.UTC(2013, 11, 31)]});
        await Promise.race([fitted, new Promise(done => setTimeout(done, 5000))]);
        return JSON.stringify({range: gd.layout.yaxis.range, type: gd.layout.yaxis.type});
    })()"""))
    year = [r for r in btc_rows if date(2013, 1, 1) <= r["t"].date() <= date(2013, 12, 31)]
    lo, hi = min(r["low"] for r in year), max(r["high"] for r in year)
    assert got["type"] == "linear"  # the first view (2025) spans less than 2.5x
    assert got["range"] == pytest.approx([lo * 0.97, hi * 1.03])
