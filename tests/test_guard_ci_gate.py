"""A CI gate that cannot pass by accident (issue 14): an empty --fail-on is a usage error;
NaN, infinite, negative and out-of-range thresholds are refused from every layer (flag 2,
config file and environment 8, as the README's table says); an unknown BTCSCAN_* variable
is an error; the new conditions hold exactly when plain-Python references say so, and a
holding condition is printed once."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from click.testing import CliRunner

from btcscan.alerts.conditions import parse_conditions
from btcscan.cli import cli
from btcscan.errors import ExitCode
from tests.helpers_weekly import weekly_closes_until
from tests.reference import rsi_ref


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def refused(res, code: ExitCode, *needles: str) -> None:
    assert res.exit_code == code, (res.exit_code, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("btcscan: error: "), res.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    assert res.stdout == ""


# --- an empty list ----------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["--fail-on="], ["--fail-on", ""], ["--fail-on", ",,,"],
                                  ["--fail-on", " , "]])
def test_empty_fail_on_is_a_usage_error(argv, tmp_path):
    state = tmp_path / "s.json"
    res = run("scan", "--sample", *argv, "--format", "json", "--state", str(state))
    refused(res, ExitCode.USAGE, "names no condition")
    assert not state.exists()  # refused before anything ran


def test_no_fail_on_at_all_is_still_no_condition():
    assert parse_conditions(None) == ()


# --- thresholds from every layer ----------------------------------------------------------------

@pytest.mark.parametrize("cond", [
    "drawdown:nan", "drawdown:inf", "drawdown:-5", "drawdown:0", "drawdown:150",
    "below-sma:1", "below-sma:inf", "above-sma:nan", "crossed-below-sma:20000",
    "wedge-breakout:0", "wedge-breakout:nan",
    "rsi-below:nan", "rsi-below:100", "rsi-below:0", "rsi-above:-1", "rsi-above:inf",
    "close-below:0", "close-below:nan", "close-above:inf", "close-above:-3",
    "near-level:0", "near-level:nan", "near-level:101", "near-level:-1",
])
def test_bad_fail_on_threshold_exits_2(cond):
    refused(run("scan", "--sample", "--fail-on", cond), ExitCode.USAGE, cond)


@pytest.mark.parametrize("item,needle", [
    ("decline_min_pct=nan", "finite"), ("decline_min_pct=inf", "finite"),
    ("decline_min_pct=-5", "above 0"), ("decline_min_pct=150", "at most 100"),
    ("round_proximity_pct=nan", "finite"), ("round_proximity_pct=0", "above 0"),
    ("power_law_sigmas=nan,1", "finite"), ("rsi_period=0", "at least 1"),
])
def test_bad_set_exits_2(item, needle):
    refused(run("scan", "--sample", "--set", item), ExitCode.USAGE, needle)


@pytest.mark.parametrize("item,needle", [
    ("touch_tolerance_atr=inf", "finite"), ("touch_tolerance_atr=nan", "finite"),
    ("min_swing_atr=-1", ">= 0"), ("convergence_ratio=nan", "between 0 and 1"),
    ("pivot_left=0", ">= 1"), ("pivot_left=x", "not a valid int"), ("nosuch=1", "KEY one of"),
])
def test_bad_pattern_param_exits_2_like_set(item, needle):
    """It exited 8 (a config error) while a bad --set exited 2: both are flags."""
    refused(run("scan", "--sample", "--pattern-param", item), ExitCode.USAGE,
            "--pattern-param", needle)


@pytest.mark.parametrize("table", ["[scan]\ndecline_min_pct = nan", "[scan]\ndecline_min_pct = inf",
                                   "[scan]\nround_proximity_pct = -2.0",
                                   "[patterns]\ntouch_tolerance_atr = inf",
                                   "[patterns]\nmin_height_atr = nan"])
def test_bad_threshold_in_the_config_exits_8(tmp_path, table):
    p = tmp_path / "c.toml"
    p.write_text(table + "\n")
    res = run("scan", "--sample", "--config", str(p))
    refused(res, ExitCode.CONFIG, str(p), table.split("\n")[1].split(" =")[0])


@pytest.mark.parametrize("var,value,needle", [
    ("BTCSCAN_SCAN_DECLINE_MIN_PCT", "nan", "finite"),
    ("BTCSCAN_SCAN_DECLINE_MIN_PCT", "-1", "above 0"),
    ("BTCSCAN_PATTERNS_TOUCH_TOLERANCE_ATR", "inf", "finite"),
    ("BTCSCAN_SCAN_RSI_PERIODS", "14", "no such setting"),  # a typo of RSI_PERIOD
    ("BTCSCAN_PATTERNS_PIVOTS_LEFT", "3", "no such setting"),
    ("BTCSCAN_CACHEDIR", "/tmp/x", "reads no such variable"),
    ("BTCSCAN_WORKERS", "2", "reads no such variable"),  # removed with the thread pool
    ("BTCSCAN_NORMAL_EXIT", "yes", "use 1 (on) or 0 (off)"),
])
def test_bad_or_unknown_environment_variable_exits_8(var, value, needle):
    refused(run("scan", "--sample", env={var: value}), ExitCode.CONFIG, var, needle)


def test_environment_is_checked_for_every_command_but_not_for_help(tmp_path):
    env = {"BTCSCAN_SCAN_TIMEFRME": "1d"}
    refused(run("cache", "list", "--cache-dir", str(tmp_path), env=env), ExitCode.CONFIG,
            "BTCSCAN_SCAN_TIMEFRME")
    assert not any(tmp_path.iterdir())
    assert run("scan", "--help", env=env).exit_code == 0


def test_known_variables_and_credentials_are_accepted(tmp_path):
    env = {"BTCSCAN_SCAN_RSI_PERIOD": "21", "BTCSCAN_BINANCE_API_KEY": "k-secret-1",
           "BTCSCAN_GATE_IO_SECRET": "s-secret-2", "BTCSCAN_DEBUG": "0",
           "BTCSCAN_CACHE_DIR": str(tmp_path)}
    res = run("config", "show", "--format", "json", env=env)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["settings"]["scan.rsi_period"] == {
        "value": 21, "source": "environment BTCSCAN_SCAN_RSI_PERIOD"}
    assert "secret" not in res.stdout + res.stderr


# --- the new conditions, against plain-Python references ------------------------------------

ASOFS = ["2025-11-16", "2022-11-21", "2024-03-04", "2021-04-18"]


def _weekly(btc_rows, asof: str) -> list[float]:
    return [c for _, c in weekly_closes_until(btc_rows, date.fromisoformat(asof))]


@pytest.mark.parametrize("asof", ASOFS)
def test_rsi_conditions_hold_exactly_when_the_reference_rsi_says(btc_rows, asof):
    rsi = rsi_ref(_weekly(btc_rows, asof), 14)[-1]
    for name, n in (("rsi-below", 50), ("rsi-above", 50), ("rsi-below", 70),
                    ("rsi-above", 70), ("rsi-below", 30)):
        want = rsi < n if name == "rsi-below" else rsi > n
        res = run("scan", "--sample", "--asof", asof, "--fail-on", f"{name}:{n}",
                  "--format", "json")
        assert res.exit_code == (ExitCode.CONDITION_MET if want else ExitCode.OK), res.stderr
        (v,) = json.loads(res.stdout)["conditions"]
        assert v["holds"] is want and f"{rsi:.2f}" in v["detail"]


@pytest.mark.parametrize("asof", ASOFS)
def test_close_conditions_on_either_side_of_the_weekly_close(btc_rows, asof):
    close = _weekly(btc_rows, asof)[-1]
    cases = [(f"close-below:{close * 1.001:.2f}", True), (f"close-below:{close * 0.999:.2f}",
                                                         False),
             (f"close-above:{close * 0.999:.2f}", True), (f"close-above:{close * 1.001:.2f}",
                                                         False)]
    for cond, want in cases:
        res = run("scan", "--sample", "--asof", asof, "--fail-on", cond, "--format", "json")
        assert res.exit_code == (ExitCode.CONDITION_MET if want else ExitCode.OK), cond
        assert json.loads(res.stdout)["conditions"][0]["holds"] is want


@pytest.mark.parametrize("asof", ASOFS)
def test_near_level_straddles_the_nearest_ladder_level(btc_rows, asof):
    close = _weekly(btc_rows, asof)[-1]
    doc = json.loads(run("scan", "--sample", "--asof", asof, "--format", "json").stdout)
    levels = doc["series"][0]["levels"]
    assert levels and doc["series"][0]["last_closed"]["close"] == pytest.approx(close)
    nearest = min(abs(lv["price"] / close - 1) * 100 for lv in levels)
    for pct, want in ((nearest * 1.01 + 1e-9, True), (nearest * 0.99, False)):
        if pct <= 0:
            continue
        res = run("scan", "--sample", "--asof", asof, "--fail-on", f"near-level:{pct:.6f}",
                  "--format", "json")
        assert res.exit_code == (ExitCode.CONDITION_MET if want else ExitCode.OK), pct
        (v,) = json.loads(res.stdout)["conditions"]
        assert v["holds"] is want and f"{nearest:.2f}%" in v["detail"]


# --- printed once ----------------------------------------------------------------------------

def test_a_holding_condition_is_printed_once_in_table_mode():
    res = run("scan", "--sample", "--asof", "2025-11-16", "--fail-on", "below-sma:50")
    assert res.exit_code == ExitCode.CONDITION_MET
    # (crossed-below-sma:50 is another thing: the signal of that week's cross)
    assert len(re.findall(r"(?<![-\w])below-sma:50", res.stdout)) == 1
    assert "HOLDS  below-sma:50" in res.stdout
    assert "condition met" not in res.stderr


def test_a_holding_condition_is_printed_once_on_stderr_in_machine_formats():
    for fmt in ("json", "csv", "ndjson"):
        res = run("scan", "--sample", "--asof", "2025-11-16", "--fail-on", "below-sma:50",
                  "--format", fmt)
        assert res.exit_code == ExitCode.CONDITION_MET
        assert res.stderr.count("condition met: below-sma:50") == 1
        assert "condition met" not in res.stdout


def test_quiet_without_signals_still_says_the_condition_once(tmp_path):
    state = tmp_path / "s.json"
    args = ("scan", "--sample", "--asof", "2025-11-16", "--fail-on", "below-sma:50",
            "--new-only", "--state", str(state), "--quiet")
    run(*args)  # the first run reports the signals of that week
    res = run(*args)  # nothing new: the report is silent, the verdict is not
    assert res.exit_code == ExitCode.CONDITION_MET and res.stdout == ""
    assert res.stderr.count("condition met: below-sma:50") == 1
