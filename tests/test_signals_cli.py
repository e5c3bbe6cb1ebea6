"""The pattern engine inside the scan: signals section, ladder levels, --events, JSON events,
pattern parameters from the CLI and from a config file."""

from __future__ import annotations

import json

from btcscan import api
from btcscan.cli import cli
from btcscan.errors import ExitCode

WIDE = {"COLUMNS": "200"}


def test_daily_april_2025_falling_wedge_in_ladder_and_signals(runner):
    res = runner.invoke(cli, ["scan", "--sample", "-t", "1d", "--asof", "2025-04-20"],
                        catch_exceptions=False, env=WIDE)
    assert res.exit_code == 0, res.output
    out = res.output
    assert "Falling wedge 2025-02-21..2025-04-15: forming" in out
    assert "upper trendline resistance 85,440" in out
    assert "lower trendline support 72,781" in out
    assert "measured move: upper line at last close + wedge height at start" in out
    assert "pattern extreme: highest peak in the wedge (Bulkowski)" in out
    # the ladder carries the wedge line with where it came from
    assert "falling wedge upper trendline resistance (line at last close)" in out


def test_breakout_next_day_is_reported_with_targets():
    r = api.scan(sample=True, timeframe="1d", asof="2025-04-25").series[0]
    (w,) = r.patterns.active_wedges
    assert (w.kind, w.state) == ("falling", "broke_up")
    assert w.state_at.date().isoformat() == "2025-04-21"
    rules = {t.rule.split(":")[0]: round(t.price) for t in w.targets}
    # the height is measured where both lines begin: the lower line's first touch (the low of
    # 2025-02-28) comes after the upper line's (the first pivot, 2025-02-21): 20,160
    assert w.upper.start_time.date().isoformat() == "2025-02-21"
    assert w.lower.start_time.date().isoformat() == "2025-02-28"
    s = w.lower.start_bar
    assert round(w.height_at_start) == round(w.upper.value_at(s) - w.lower.value_at(s)) == 20_160
    assert rules == {"pattern extreme": 99508, "measured move": 105357, "invalidation": 74434}
    assert rules["measured move"] == round(w.upper.value_at(w.state_at_bar) + w.height_at_start)
    kinds = {lv.kind for lv in r.levels}
    assert "target" in kinds or "wedge_line" in kinds


def test_events_flag_lists_history(runner):
    res = runner.invoke(cli, ["scan", "--sample", "--asof", "2025-06-30", "--events"],
                        catch_exceptions=False, env=WIDE)
    assert res.exit_code == 0
    assert "Events over the scanned history (10)" in res.output
    assert "regular bearish" in res.output.lower()
    plain = runner.invoke(cli, ["scan", "--sample", "--asof", "2025-06-30"],
                          catch_exceptions=False, env=WIDE)
    assert "Events over the scanned history" not in plain.output
    assert "--events lists them" in plain.output


def test_json_has_events_with_known_at(runner):
    res = runner.invoke(cli, ["scan", "--sample", "--asof", "2025-03-10", "--format", "json"],
                        catch_exceptions=False)
    doc = json.loads(res.output)
    p = doc["series"][0]["patterns"]
    assert p["events"] and all(e["known_at"].endswith("Z") for e in p["events"])
    (d,) = p["active_divergences"]
    assert (d["kind"], d["first_time"][:10], d["second_time"][:10], d["known_at"][:10]) == (
        "regular_bearish", "2024-12-09", "2025-01-20", "2025-02-24")
    # nothing known after the scan time
    assert max(e["known_at"] for e in p["events"]) < "2025-03-11"


def test_pattern_params_from_cli_and_config(runner, tmp_path):
    base = api.scan(sample=True, asof="2025-06-30").series[0].patterns
    res = runner.invoke(cli, ["scan", "--sample", "--asof", "2025-06-30", "--format", "json",
                              "--hidden-divergences"], catch_exceptions=False)
    hidden = json.loads(res.output)["series"][0]["patterns"]
    assert len(hidden["divergences"]) > len(base.divergences)
    assert any(d["kind"].startswith("hidden") for d in hidden["divergences"])

    cfg = tmp_path / "btcscan.toml"
    cfg.write_text("[patterns]\ninclude_hidden = true\ndiv_max_bars = 30\n")
    res = runner.invoke(cli, ["scan", "--sample", "--asof", "2025-06-30", "--format", "json",
                              "--config", str(cfg), "--pattern-param", "div_max_bars=60"],
                        catch_exceptions=False)
    doc = json.loads(res.output)["series"][0]["patterns"]
    assert len(doc["divergences"]) == len(hidden["divergences"])  # CLI wins over the file


def test_bad_pattern_settings_exit_config(runner, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[patterns]\npivot_lft = 3\n")
    res = runner.invoke(cli, ["scan", "--sample", "--config", str(cfg)], catch_exceptions=False)
    assert res.exit_code == ExitCode.CONFIG
    assert "unknown setting 'pivot_lft'" in res.output
    res = runner.invoke(cli, ["scan", "--sample", "--pattern-param", "pivot_left=x"],
                        catch_exceptions=False)
    assert res.exit_code == ExitCode.USAGE  # a flag (2), as a bad --set; the file's is 8
    assert "not a valid int" in res.output
