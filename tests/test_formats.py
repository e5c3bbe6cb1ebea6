"""Machine output: JSON and NDJSON validated against the shipped JSON Schema at several
dates, timeframes and markets; CSV one row per signal; stdout holds data only."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import jsonschema
import pytest
from click.testing import CliRunner

from btcscan.cli import cli
from btcscan.models import SCHEMA_VERSION
from btcscan.render.serial import CSV_COLUMNS, schema
from tests.helpers_weekly import weekly_closes_until


def run(*args: str):
    res = CliRunner().invoke(cli, ["scan", "--sample", *args], catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    return res


@pytest.fixture(scope="module")
def validator():
    s = schema()
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s, format_checker=jsonschema.FormatChecker())


@pytest.fixture(scope="module")
def line_validator():
    s = schema()
    return jsonschema.Draft202012Validator({"$defs": s["$defs"], "$ref": "#/$defs/ndjson_line"})


@pytest.mark.parametrize("args", [
    (), ("--asof", "2017-12-17"), ("--asof", "2022-11-21", "-t", "1d"),
    ("--asof", "2025-11-16"), ("-t", "1M"), ("ETH/USDT", "SOL/USDT", "-t", "1d"),
    ("--asof", "2019-01-01", "--fail-on", "below-sma:50,drawdown:50", "--power-law"),
])
def test_json_is_valid_against_the_schema(validator, args):
    res = CliRunner().invoke(cli, ["scan", "--sample", *args, "--format", "json"],
                             catch_exceptions=False)
    doc = json.loads(res.stdout)
    validator.validate(doc)
    assert doc["schema_version"] == SCHEMA_VERSION
    assert all(s["context"] is not None for s in doc["series"])


def test_schema_rejects_what_it_should(validator):
    doc = json.loads(run("--format", "json").stdout)
    bad = json.loads(json.dumps(doc))
    bad["series"][0]["smas"][0]["state"] = "sideways"
    assert not validator.is_valid(bad)
    bad = json.loads(json.dumps(doc))
    del bad["series"][0]["context"]["drawdown"]
    assert not validator.is_valid(bad)
    bad = json.loads(json.dumps(doc))
    bad["series"][0]["asof"] = "2026-04-19"
    assert not validator.is_valid(bad)


def test_ndjson_one_valid_line_per_series(line_validator):
    res = run("BTC/USD", "ETH/USDT", "DOGE/USDT", "-t", "1d", "--format", "ndjson")
    lines = res.stdout.splitlines()
    assert len(lines) == 3
    docs = [json.loads(x) for x in lines]
    for d in docs:
        line_validator.validate(d)
    assert [d["series"]["source"]["symbol"] for d in docs] == ["BTC/USD", "ETH/USDT", "DOGE/USDT"]
    # power law only on the BTC line
    assert [len(d["series"]["context"]["power_law"]) for d in docs] == [2, 0, 0]


def test_csv_one_row_per_signal(btc_rows):
    # the week of 2025-11-10 closed below SMA 50 (checked by hand): one signal
    res = run("--asof", "2025-11-16", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert tuple(next(csv.reader(io.StringIO(res.stdout)))) == CSV_COLUMNS
    monday, close = weekly_closes_until(btc_rows, date(2025, 11, 16))[-1]
    assert monday == date(2025, 11, 10)
    # (once the pattern engine runs, its signals are rows too: only the SMA ones are fixed here)
    assert [(r["signal"], r["time"], float(r["price"])) for r in rows
            if r["signal"].endswith("-sma")] == [("crossed-below-sma", "2025-11-10T00:00:00Z",
                                                  close)]
    assert rows[0]["asof"] == "2025-11-17T00:00:00Z"
    # the same signals as the JSON document's
    doc = json.loads(run("--asof", "2025-11-16", "--format", "json").stdout)
    assert [s["key"] for s in doc["signals"]] == [r["key"] for r in rows]
    # a week later nothing crossed an SMA
    res = run("--asof", str(date(2025, 11, 16) + timedelta(days=7)), "--format", "csv")
    assert res.stdout.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert not [r for r in csv.DictReader(io.StringIO(res.stdout)) if r["signal"].endswith("-sma")]
    # a scan with no signal at all prints the header alone
    res = run("ETH/USDT", "--asof", "2024-01-07", "--format", "csv")
    assert res.stdout.splitlines() == [",".join(CSV_COLUMNS)]


def test_machine_formats_keep_stdout_clean():
    # ETH/USDT monthly has fewer than 140 changes: the RSI warm-up warning goes to stderr
    res = run("ETH/USDT", "-t", "1M", "--format", "json")
    assert "btcscan: warning:" in res.stderr
    json.loads(res.stdout)
    for fmt in ("ndjson", "csv"):
        res = run("--format", fmt, "--fail-on", "drawdown:90")
        assert "btcscan:" not in res.stdout
