"""Reports on live markets (issue #3's loopback exchange): the JSON validates against the
schema with a failed market in errors[], power law on BTC/USDT, and a market failure's
exit code (9) wins over a holding --fail-on condition (3)."""

from __future__ import annotations

import json

import jsonschema
from click.testing import CliRunner

from btcscan.errors import ExitCode
from btcscan.render.serial import schema
from tests.test_fetch_cli import cli, config, live  # noqa: F401 - pytest fixtures


def test_live_scan_with_conditions_and_a_failed_market(cli, live, config, tmp_path):  # noqa: F811
    args = ["scan", "BTC/USDT", "NOPE/USDT", "--exchange", "binance", "--timeframe", "1w",
            "--config", str(config), "--cache-dir", str(tmp_path / "c"),
            "--fail-on", "drawdown:0.0001", "--format", "json"]
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == ExitCode.PARTIAL
    doc = json.loads(res.stdout)
    jsonschema.Draft202012Validator(schema()).validate(doc)
    assert [e["source"] for e in doc["errors"]] == ["binance:NOPE/USDT"]
    (series,) = doc["series"]
    assert series["context"]["power_law"][0]["label"] == "fit on this series"
    dd = series["drawdown_pct"]
    assert [c["holds"] for c in doc["conditions"]] == [dd <= -0.0001]
    # the same market alone: the condition decides the exit code
    alone = CliRunner().invoke(cli, [a for a in args if a != "NOPE/USDT"] + ["--offline"],
                               catch_exceptions=False)
    assert alone.exit_code == (ExitCode.CONDITION_MET if dd <= -0.0001 else ExitCode.OK)
