"""The terminal report at 80 and 100 columns: nothing cut, wrapped lines under their item,
boilerplate said once, supports/resistances coloured (NO_COLOR honoured), and labels that
name the candles they use. Rendered to a string at a fixed width with no colour."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from rich.console import Console

import btcscan.api as bs
from btcscan.cli import cli
from btcscan.models import ScanResult
from btcscan.render.table import price, render_table
from tests.conftest import write_csv


def text_of(result, width: int, **kw) -> str:
    buf = io.StringIO()
    render_table(result, Console(file=buf, width=width, color_system=None), **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def weekly():
    return bs.scan(sample=True)


@pytest.fixture(scope="module")
def wedge_day():
    """Daily BTC/USD as of 2025-11-10: a falling wedge is forming, its lines on the ladder."""
    return bs.scan(sample=True, timeframe="1d", asof="2025-11-10")


@pytest.fixture(scope="module")
def eth_day():
    """Daily ETH/USDT: an active bullish divergence with its walk-forward line."""
    return bs.scan(sample=True, symbols=["ETH/USDT"], timeframe="1d")


@pytest.mark.parametrize("width", [80, 100])
def test_nothing_is_cut(weekly, wedge_day, eth_day, width):
    for result in (weekly, wedge_day, eth_day):
        text = text_of(result, width, events=True)
        assert "…" not in text
        assert all(len(line) <= width for line in text.splitlines())
    day = text_of(wedge_day, width, events=True)
    # whole words that rich used to cut at 80 columns
    assert "(bitcoinfairprice.com))" in day
    assert day.count("2025-09-25..2025-11-04") >= 3  # both wedge lines and the wedge
    r = wedge_day.series[0]
    for lv in r.levels:  # every rung's price and side, whole (grouped rows carry no side)
        assert f"{'resistance' if lv.side == 'above' else 'support'}  " in day
        assert price(lv.price, r.latest.price) in day
        assert all(price(g.price, r.latest.price) in day for g in lv.grouped)


def test_wrapped_lines_stay_under_their_item(weekly):
    lines = [ln.strip("│").rstrip() for ln in text_of(weekly, 80).splitlines()]
    # the declines note and the partial-week note are long: their second lines are indented
    i = next(k for k, ln in enumerate(lines) if "- the first decline's peak" in ln)
    assert lines[i + 1].startswith("   ") and "the real peak may be earlier" in (
        lines[i] + lines[i + 1])
    j = next(k for k, ln in enumerate(lines) if "- power law, fit on this series" in ln)
    start = lines[j].index("- power law") + 2
    assert lines[j + 1][:start].strip() == "" and lines[j + 1][start] != " "


def test_round_number_rule_is_said_once(weekly):
    text = text_of(weekly, 100)
    assert text.count("multiple of 10,000") == 1
    assert "round numbers: multiple of 10,000" in text
    assert text.count("round number ") >= 4  # the levels themselves are all still listed


def test_declines_table_once_per_identical_history():
    """Weekly and daily BTC/USD walk the same daily closes: the table prints once."""
    both = ScanResult(series=(
        bs.scan(sample=True).series[0],
        bs.scan(sample=True, timeframe="1d").series[0]))
    text = text_of(both, 100)
    assert text.count("2017-12-16") == 1
    assert "declines: the same 6 as in the BTC/USD weekly report above (deepest -84.9%)" in text
    eth = bs.scan(sample=True, symbols=["ETH/USDT"], timeframe="1d").series[0]
    two = text_of(ScanResult(series=(both.series[0], eth)), 100)
    assert two.count("Declines: a decline is") == 2  # different histories: each its own


def test_supports_green_resistances_red_and_no_color(weekly, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    from btcscan.render.table import ladder_parts

    console = Console(file=io.StringIO(), width=100, force_terminal=True,
                      color_system="standard")
    table = ladder_parts(weekly.series[0], console, 96)[0]
    side_cells = list(table.columns[0].cells)
    level_cells = list(table.columns[1].cells)
    assert {c.plain: str(c.style) for c in side_cells if c.plain} == {"support": "green",
                                                          "resistance": "red"}
    assert {str(c.style) for c in level_cells} == {"green", "red"}
    buf = io.StringIO()
    render_table(weekly, Console(file=buf, width=100, force_terminal=True,
                                 color_system="standard"))
    assert "\x1b[31m" in buf.getvalue() and "\x1b[32m" in buf.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = io.StringIO()
    render_table(weekly, Console(file=plain, width=100, force_terminal=True,
                                 color_system="standard"))
    out = plain.getvalue()  # NO_COLOR drops colours only (bold and dim stay)
    assert "\x1b[31m" not in out and "\x1b[32m" not in out and "resistance" in out


def test_new_only_quiet_prints_only_the_new_signals(tmp_path):
    state = str(tmp_path / "s.json")
    args = ["scan", "--sample", "--asof", "2021-12-19", "--new-only", "--state", state,
            "--quiet"]
    first = CliRunner().invoke(cli, args, catch_exceptions=False)
    lines = first.stdout.splitlines()
    assert first.exit_code == 0
    assert lines[0] == "Alerts: new signals (not reported before)"
    assert "crossed-below-sma" in first.stdout and len(lines) <= 3
    assert "Levels around" not in first.stdout and "Long-run context" not in first.stdout
    again = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert again.stdout == ""
    # without --quiet the report is printed as before
    loud = CliRunner().invoke(cli, [a for a in args if a != "--quiet"]
                              + ["--state", str(tmp_path / "t.json")], catch_exceptions=False)
    assert "Levels around" in loud.stdout


def test_partial_first_week_is_not_called_a_gap(weekly):
    notes = weekly.series[0].notes
    assert not any("gaps in the source" in n for n in notes)
    assert ("the 1w candle of 2011-08-15 holds 4 of its 7 1d candles: the data begins "
            "inside that period") in notes


def test_declines_rule_names_the_closes_it_walks(tmp_path):
    """A 4-hour file: the rule walks 4-hour closes and says so (not "daily closes")."""
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(600):  # up 100 -> 200, down to 80 (-60%), back up to 210
        c = (100 + i / 2 if i < 200 else 200 - (i - 200) * 0.6 if i < 400
             else 80 + (i - 400) * 0.65)
        rows.append([(t0 + timedelta(hours=4 * i)).isoformat(), c, c * 1.01, c * 0.99, c, 1.0])
    path = write_csv(tmp_path / "x4h.csv", ["time", "open", "high", "low", "close", "volume"],
                     rows)
    r = bs.scan(files=[str(path)], timeframe="4h").series[0]
    assert r.context.decline_rule.endswith("(4-hour closes up to the scan time)")
    assert len(r.context.declines) == 1 and math.isclose(r.context.declines[0].depth_pct, -60,
                                                          abs_tol=0.5)
    assert "(daily closes" in bs.scan(sample=True).series[0].context.decline_rule
    # at 80 columns the 4-hour dates (with their times) wrap; no column is dropped or cut
    text = text_of(bs.scan(files=[str(path)], timeframe="4h"), 80)
    assert "…" not in text and "recovered" in text and "recover" in text
    d = r.context.declines[0]
    cells = next(ln for ln in text.splitlines() if f"{d.peak.time:%Y-%m-%d}" in ln
                 ).strip("│ ").split()
    assert cells == [f"{d.peak.time:%Y-%m-%d}", "200.00", f"{d.trough.time:%Y-%m-%d}", "80.00",
                     "-60.0%", str(d.days_to_trough), f"{d.recovered:%Y-%m-%d}", "64"]
    assert d.days_to_recover == 64
    doc = json.loads(CliRunner().invoke(cli, ["scan", "--from-file", str(path), "-t", "4h",
                                              "--format", "json"]).stdout)
    assert "4-hour closes" in doc["series"][0]["context"]["decline_rule"]


@pytest.mark.parametrize("width", [80, 100])
def test_stats_fits_without_cutting_event_names(width):
    """`stats` used to cut event names to "fallin…" below ~180 columns."""
    env = {"COLUMNS": str(width), "NO_COLOR": "1", "TERM": "dumb"}
    res = CliRunner().invoke(cli, ["stats", "--sample", "-t", "1d"], env=env,
                             catch_exceptions=False)
    assert res.exit_code == 0
    text = res.stdout
    assert "…" not in text and all(len(ln) <= width for ln in text.splitlines())
    lines = text.splitlines()
    for name in ("falling-wedge breakouts (up)", "regular bearish RSI divergences",
                 "SMA 100 support breaks (close below)"):  # at 80 they wrap, at 100 not
        assert width == 80 or any(name in ln for ln in lines), name
    # every column's header survives, whole words, and the regular bearish row keeps its
    # numbers (42 events, 33 failed <5%: `stats --sample -t 1d` as of the bundled data)
    for word in ("resolved", "invalid.", "expired", "<5%", "MAE", "worst"):
        assert word in text
    row = next(ln for ln in lines if ln.startswith(" regular bearish"))
    assert row.split()[2:5] == ["42", "0", "42"]
