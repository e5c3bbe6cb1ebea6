"""The CLI end to end on the bundled sample: table, JSON, point in time, every error path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import OrderedDict
from datetime import timedelta

import numpy as np
import pytest
import talib

from btcscan.cli import cli
from btcscan.errors import ExitCode
from tests.conftest import write_csv


def weekly_closes(rows, last_week_start):
    """Weekly closes by hand: the last daily close of each Monday-based week."""
    weeks = OrderedDict()
    for r in rows:
        monday = (r["t"] - timedelta(days=r["t"].weekday())).date()
        weeks[monday] = r["close"]
    return [c for wk, c in weeks.items() if wk <= last_week_start]


def test_sample_json_matches_independent_computation(runner, btc_rows):
    res = runner.invoke(cli, ["scan", "--sample", "--format", "json"], catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)  # stdout holds the JSON document and nothing else
    assert doc["schema_version"] == "1.3"
    s = doc["series"][0]
    assert s["source"]["label"] == "bitstamp:BTC/USD (bundled sample)"
    assert s["timeframe"] == "1w"
    # the data ends Saturday 2026-04-18: the last CLOSED week is the one of Monday 2026-04-06
    assert s["last_closed"]["open_time"] == "2026-04-06T00:00:00Z"
    assert s["last_closed"]["close_time"] == "2026-04-13T00:00:00Z"
    by_day = {r["t"].date().isoformat(): r for r in btc_rows}
    assert s["last_closed"]["close"] == by_day["2026-04-12"]["close"]
    assert s["latest"]["price"] == by_day["2026-04-18"]["close"]
    from datetime import date

    closes = np.array(weekly_closes(btc_rows, date(2026, 4, 6)))
    smas = {x["period"]: x for x in s["smas"]}
    assert smas[50]["value"] == pytest.approx(talib.SMA(closes, 50)[-1], rel=1e-12)
    assert smas[100]["value"] == pytest.approx(talib.SMA(closes, 100)[-1], rel=1e-12)
    assert s["rsi"]["value"] == pytest.approx(talib.RSI(closes, 14)[-1], abs=1e-9)
    ath = max(btc_rows, key=lambda r: r["high"])
    assert s["ath"]["price"] == ath["high"]
    assert s["drawdown_pct"] == pytest.approx(
        (by_day["2026-04-18"]["close"] / ath["high"] - 1) * 100
    )
    assert s["change_7d_pct"] == pytest.approx(
        (by_day["2026-04-18"]["close"] / by_day["2026-04-11"]["close"] - 1) * 100
    )
    # ladder: nearest first, sides consistent with the price
    d = [abs(lv["distance_pct"]) for lv in s["levels"]]
    assert d == sorted(d)
    assert all(
        (lv["price"] > s["latest"]["price"]) == (lv["side"] == "above") for lv in s["levels"]
    )
    # 80,000 is on the ladder, a row of its own or grouped into a nearby one
    assert any(lv["kind"] == "round" and lv["price"] == 80000
               for row in s["levels"] for lv in (row, *row["grouped"]))


def test_sample_table_names_source_and_levels(runner):
    res = runner.invoke(cli, ["scan", "--sample"], catch_exceptions=False, env={"COLUMNS": "120"})
    assert res.exit_code == 0
    out = res.stdout
    assert "bitstamp:BTC/USD (bundled sample)" in out
    assert "last weekly close  70,746" in out
    assert "SMA 50" in out and "SMA 100" in out
    assert "round number 80,000" in out
    assert "\x1b[" not in out  # no colour codes when not a terminal


def test_asof_is_point_in_time(runner, btc_rows):
    res = runner.invoke(
        cli,
        ["scan", "--sample", "--asof", "2025-06-30", "--format", "json"],
        catch_exceptions=False,
    )
    s = json.loads(res.stdout)["series"][0]
    assert s["asof"] == "2025-07-01T00:00:00Z"  # a date means the end of that UTC day
    assert s["last_closed"]["open_time"] == "2025-06-23T00:00:00Z"
    by_day = {r["t"].date().isoformat(): r for r in btc_rows}
    assert s["latest"]["price"] == by_day["2025-06-30"]["close"]
    assert s["ath"]["price"] == max(
        r["high"] for r in btc_rows if r["t"].date().isoformat() <= "2025-06-30"
    )


def test_unconfirmed_break_is_said(runner):
    # Find a mid-week date where the daily price sits on the other side of the 50-week SMA
    # from the last weekly close; the table must say it is not yet confirmed.
    from btcscan import api

    days = [f"2025-11-{d:02d}" for d in range(3, 30)] + [f"2024-08-{d:02d}" for d in range(1, 30)]
    for day in days:
        s = api.scan(sample=True, asof=day).series[0]
        sm = s.smas[0]
        if sm.latest_side and sm.latest_side not in sm.state:
            break
    else:
        pytest.fail("no date with an unconfirmed SMA break in the probed windows")
    res = runner.invoke(
        cli, ["scan", "--sample", "--asof", day], catch_exceptions=False, env={"COLUMNS": "200"}
    )
    assert "not yet confirmed by a weekly close" in res.stdout


def one_line_error(res, code, *needles):
    assert res.exit_code == code, (res.exit_code, res.stderr, res.stdout)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("btcscan: error: ")
    for n in needles:
        assert n in lines[0]
    assert res.stdout == ""


def test_unknown_timeframe(runner):
    res = runner.invoke(cli, ["scan", "--sample", "-t", "2x"], catch_exceptions=False)
    one_line_error(res, ExitCode.USAGE, "unknown timeframe '2x'", "1w")


def test_timeframe_finer_than_data(runner):
    res = runner.invoke(cli, ["scan", "--sample", "-t", "4h"], catch_exceptions=False)
    one_line_error(res, ExitCode.USAGE, "finer than the data")


@pytest.mark.parametrize(
    "asof, needle",
    [("2009-01-01", "before the first candle"), ("2030-01-01", "after the data ends")],
)
def test_asof_outside_data(runner, asof, needle):
    res = runner.invoke(cli, ["scan", "--sample", "--asof", asof], catch_exceptions=False)
    one_line_error(res, ExitCode.DATA, needle)


def test_bad_asof(runner):
    res = runner.invoke(cli, ["scan", "--sample", "--asof", "yesterday"], catch_exceptions=False)
    one_line_error(res, ExitCode.USAGE, "cannot read --asof 'yesterday'")


def test_nothing_to_scan(runner):
    res = runner.invoke(cli, ["scan"], catch_exceptions=False)
    one_line_error(res, ExitCode.USAGE, "nothing to scan")


def test_bad_option_is_one_line(runner):
    res = runner.invoke(cli, ["scan", "--sample", "--format", "xml"], catch_exceptions=False)
    one_line_error(res, ExitCode.USAGE, "'xml' is not one of", "--help")


def _daily_rows(n, start=1_700_000_000_000 // 86_400_000 * 86_400_000):
    rows = []
    for i in range(n):
        p = 100.0 + 10 * np.sin(i / 9)
        rows.append([start + i * 86_400_000, p, p + 2, p - 2, p + 1, 10.0])
    return rows


HEADER = ["timestamp", "open", "high", "low", "close", "volume"]


@pytest.mark.parametrize(
    "header, rows, needle",
    [
        (
            ["timestamp", "open", "high", "close", "volume"],
            [[1, 1, 1, 1, 1]],
            "missing column(s) low",
        ),
        (HEADER, [[1_700_000_000_000, 1, 2, 0.5, "abc", 1]], "'abc' is not a number"),
        (HEADER, [[1_700_000_000_000, -1, 2, 0.5, 1, 1]], "zero or negative price"),
        (HEADER, [[1_700_000_000_000, 1, 0.9, 0.5, 1, 1]], "high below open/close"),
        (
            HEADER,
            [[1_700_000_000_000, 1, 2, 0.5, 1, 1], [1_700_000_000_000, 1, 3, 0.5, 1, 1]],
            "two different candles share the open time",
        ),
        (HEADER, [["not-a-date", 1, 2, 0.5, 1, 1]], "cannot read timestamp 'not-a-date'"),
    ],
)
def test_malformed_files(runner, tmp_path, header, rows, needle):
    p = write_csv(tmp_path / "bad.csv", header, rows)
    res = runner.invoke(cli, ["scan", "--from-file", str(p)], catch_exceptions=False)
    one_line_error(res, ExitCode.DATA, str(p), needle)


def test_missing_and_unreadable_files(runner, tmp_path):
    res = runner.invoke(
        cli, ["scan", "--from-file", str(tmp_path / "nope.csv")], catch_exceptions=False
    )
    one_line_error(res, ExitCode.DATA, "no such file")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"\x00\x01 not parquet")
    res = runner.invoke(cli, ["scan", "--from-file", str(junk)], catch_exceptions=False)
    one_line_error(res, ExitCode.DATA, "cannot read this file")


def test_too_few_candles(runner, tmp_path):
    p = write_csv(tmp_path / "short.csv", HEADER, _daily_rows(12))
    res = runner.invoke(cli, ["scan", "--from-file", str(p), "-t", "1d"], catch_exceptions=False)
    one_line_error(res, ExitCode.DATA, "only 12 1d candle(s)", "need at least 15")


def test_sma_warming_up_is_a_warning_not_an_error(runner, tmp_path):
    p = write_csv(tmp_path / "short.csv", HEADER, _daily_rows(60))
    res = runner.invoke(
        cli, ["scan", "--from-file", str(p), "-t", "1d", "--format", "json"], catch_exceptions=False
    )
    assert res.exit_code == 0
    smas = {s["period"]: s for s in json.loads(res.stdout)["series"][0]["smas"]}
    assert smas[50]["state"] != "warming_up" and smas[100]["state"] == "warming_up"
    assert smas[100]["value"] is None
    assert "SMA 100 needs 100 daily closes; only 60 so far" in res.stderr


def test_unsorted_and_duplicates_repaired_with_warning(runner, tmp_path):
    rows = _daily_rows(150)
    shuffled = rows[::-1] + rows[:3]
    p = write_csv(tmp_path / "messy.csv", HEADER, shuffled)
    res = runner.invoke(
        cli, ["scan", "--from-file", str(p), "-t", "1d", "--format", "json"], catch_exceptions=False
    )
    assert res.exit_code == 0, res.stderr
    assert "sorted them" in res.stderr and "dropped 3 duplicate row(s)" in res.stderr
    s = json.loads(res.stdout)["series"][0]
    assert s["candles"] == 150
    assert s["source"]["kind"] == "file" and s["source"]["path"] == str(p)


def test_multi_file_scan_names_each_source(runner, tmp_path):
    a = write_csv(tmp_path / "a.csv", HEADER, _daily_rows(120))
    b = write_csv(tmp_path / "b.csv", [h.upper() for h in HEADER], _daily_rows(130))
    res = runner.invoke(
        cli,
        ["scan", "--from-file", str(a), str(b), "-t", "1d", "--format", "json"],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.stderr
    series = json.loads(res.stdout)["series"]
    assert [s["source"]["path"] for s in series] == [str(a), str(b)]
    assert [s["candles"] for s in series] == [120, 130]
    res = runner.invoke(
        cli,
        ["scan", "--from-file", str(tmp_path / "*.csv"), "-t", "1d", "--format", "json"],
        catch_exceptions=False,
    )
    assert len(json.loads(res.stdout)["series"]) == 2


def test_debug_shows_traceback(runner):
    res = runner.invoke(
        cli, ["--debug", "scan", "--sample", "--asof", "2030-01-01"], catch_exceptions=False
    )
    assert res.exit_code == ExitCode.DATA
    assert "Traceback" in res.stderr and "btcscan: error:" in res.stderr


def _modules_after(args):
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['btcscan', *{args!r}]\n"
        "try:\n    runpy.run_module('btcscan', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        "print('CCXT' if 'ccxt' in sys.modules else 'NOCCXT', code, file=sys.stderr)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_version_and_sample_scan_do_not_import_ccxt():
    p = _modules_after(["--version"])
    assert "btcscan, version" in p.stdout
    assert p.stderr.strip().endswith("NOCCXT 0")
    p = _modules_after(["scan", "--sample", "--format", "json"])
    assert json.loads(p.stdout)["series"][0]["timeframe"] == "1w"
    assert p.stderr.strip().endswith("NOCCXT 0"), p.stderr


def test_help_teaches(runner):
    res = runner.invoke(cli, ["scan", "--help"], catch_exceptions=False)
    assert res.exit_code == 0
    text = " ".join(res.stdout.split())
    for needle in ("--asof", "end of that UTC day", "--from-file", "Exit codes", "3 a --fail-on"):
        assert needle in text


def test_the_fast_exit_still_runs_what_was_registered_for_exit():
    """The installed command skips the interpreter's teardown (os._exit), not its exit
    handlers: the first run's wait for its compiling child is one of them."""
    code = ("import atexit, sys\n"
            "from btcscan import cli\n"
            "atexit.register(lambda: print('exit handler ran', flush=True))\n"
            "sys.argv = ['btcscan', '--version']\n"
            "cli.console_main()\n")
    env = {k: v for k, v in os.environ.items() if k != "BTCSCAN_NORMAL_EXIT"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "exit handler ran"
