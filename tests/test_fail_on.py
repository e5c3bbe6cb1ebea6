"""--fail-on: every condition on dates where it holds and where it does not, judged against
plain-Python weekly SMAs and drawdowns; bad conditions are usage errors naming the others."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from click.testing import CliRunner

from btcscan.alerts.conditions import CONDITIONS, evaluate, parse_conditions
from btcscan.cli import cli
from btcscan.errors import ExitCode, UsageError
from tests.helpers_weekly import drawdown_pct, sma_side, weekly_closes_until


def run(*args: str):
    return CliRunner().invoke(cli, ["scan", "--sample", *args], catch_exceptions=False)


# Weekly SMA crosses found by hand in shared/data/btcusd_1d.csv: the week of Monday
# 2025-11-10 (closed Sunday 2025-11-16) closed below SMA 50 after 100+ weeks above;
# the week of 2023-03-13 (closed 2023-03-19) closed back above SMA 50 and SMA 200.
DATES = ["2025-11-15", "2025-11-16", "2025-11-23", "2023-03-18", "2023-03-19", "2026-04-18",
         "2022-11-21"]


@pytest.mark.parametrize("asof", DATES)
@pytest.mark.parametrize("name,n", [("below-sma", 50), ("above-sma", 50), ("crossed-below-sma", 50),
                                    ("crossed-above-sma", 50), ("below-sma", 200),
                                    ("crossed-above-sma", 200)])
def test_sma_conditions(btc_rows, asof, name, n):
    now, before = sma_side(btc_rows, date.fromisoformat(asof), n)
    expected = {"below-sma": now == "below", "above-sma": now == "above",
                "crossed-below-sma": now == "below" and before == "above",
                "crossed-above-sma": now == "above" and before == "below"}[name]
    res = run("--asof", asof, "--fail-on", f"{name}:{n}", "--format", "json")
    assert res.exit_code == (ExitCode.CONDITION_MET if expected else ExitCode.OK), res.stderr
    verdict = json.loads(res.stdout)["conditions"]
    assert [v["holds"] for v in verdict] == [expected]
    assert ("condition met" in res.stderr) is expected


def test_the_hand_checked_dates_really_cover_both_outcomes(btc_rows):
    """Guard for the table above: the crosses are where the comment says."""
    assert sma_side(btc_rows, date(2025, 11, 16), 50) == ("below", "above")
    assert sma_side(btc_rows, date(2025, 11, 15), 50) == ("above", "above")
    assert sma_side(btc_rows, date(2023, 3, 19), 50) == ("above", "below")
    assert weekly_closes_until(btc_rows, date(2025, 11, 16))[-1][0] == date(2025, 11, 10)


@pytest.mark.parametrize("asof,pct", [("2026-04-18", 30), ("2026-04-18", 45), ("2025-10-06", 5),
                                      ("2022-11-21", 75), ("2022-11-21", 80), ("2024-03-04", 1)])
def test_drawdown(btc_rows, asof, pct):
    dd = drawdown_pct(btc_rows, date.fromisoformat(asof))
    res = run("--asof", asof, "--fail-on", f"drawdown:{pct}")
    assert res.exit_code == (ExitCode.CONDITION_MET if dd <= -pct else ExitCode.OK)


def test_several_conditions_exit_3_when_any_holds():
    # 2026-04-18: below SMA 50 (holds), drawdown 40% (not 45)
    assert run("--fail-on", "drawdown:45,below-sma:50").exit_code == ExitCode.CONDITION_MET
    assert run("--fail-on", "drawdown:45,above-sma:50").exit_code == ExitCode.OK


def test_sma_period_not_in_the_defaults_is_computed():
    res = run("--fail-on", "above-sma:200", "--format", "json")
    assert res.exit_code == ExitCode.CONDITION_MET
    assert 200 in [s["period"] for s in json.loads(res.stdout)["series"][0]["smas"]]


@pytest.mark.parametrize("bad", ["foo", "below-sma", "below-sma:0", "below-sma:2.5",
                                 "drawdown:abc", "wedge-breakout:x", "drawdown:-5"])
def test_bad_condition_is_a_usage_error_listing_the_conditions(bad):
    res = run("--fail-on", bad)
    assert res.exit_code == ExitCode.USAGE
    assert res.stdout == ""
    assert res.stderr.startswith("btcscan: error:") and len(res.stderr.strip().splitlines()) == 1
    if bad == "foo":
        for name in CONDITIONS:
            assert name in res.stderr


def test_parse():
    cs = parse_conditions(" below-sma:200 , drawdown:30% ,wedge-breakdown")
    assert [(c.name, c.arg) for c in cs] == [("below-sma", 200), ("drawdown", 30),
                                             ("wedge-breakdown", 1)]
    with pytest.raises(UsageError):
        parse_conditions("wedge-breakdown:0")


# --- pattern conditions, on hand-built engine results ---------------------------------------

def test_pattern_conditions_on_hand_built_reports():
    from tests.pattern_fakes import divergence, pattern_report, report_with, wedge

    cs = parse_conditions("wedge-breakdown,wedge-breakout,bearish-divergence,bullish-divergence,"
                          "wedge-breakdown:3")
    # rising wedge broke down on bar 98 (two candles before the last, bar 100)
    p = pattern_report(last_bar=100, wedges=(wedge("rising", "broke_down", state_at_bar=98),),
                       divergences=(divergence("regular_bearish", known_at_bar=100),
                                    divergence("hidden_bullish", known_at_bar=100)))
    got = {v.condition: v.holds for v in evaluate(cs, (report_with(p),))}
    assert got == {"wedge-breakdown": False, "wedge-breakout": False, "bearish-divergence": True,
                   "bullish-divergence": False, "wedge-breakdown:3": True}
    p2 = pattern_report(last_bar=50, wedges=(wedge("falling", "broke_up", state_at_bar=50),
                                             wedge("falling", "forming", state_at_bar=40)),
                        divergences=(divergence("regular_bullish", known_at_bar=50),))
    got = {v.condition: v.holds for v in evaluate(cs, (report_with(p2),))}
    assert got == {"wedge-breakdown": False, "wedge-breakout": True, "bearish-divergence": False,
                   "bullish-divergence": True, "wedge-breakdown:3": False}


def test_pattern_conditions_without_the_detectors_say_so():
    from tests.pattern_fakes import report_with

    with pytest.raises(UsageError, match="detectors"):
        evaluate(parse_conditions("wedge-breakout"), (report_with(None),))


def test_help_names_every_condition():
    out = CliRunner().invoke(cli, ["scan", "--help"], terminal_width=300).stdout
    text = re.sub(r"-\s+", "-", " ".join(out.split()))  # undo wrapping at hyphens
    for name, spec in CONDITIONS.items():
        form = name + (f"[:{spec.arg}]" if spec.default is not None else f":{spec.arg}"
                       if spec.arg else "")
        assert form in text, form
