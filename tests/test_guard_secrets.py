"""Secrets stay secret and machine output stays pure (issue 14): ccxt's verbose mode is
refused in the config (it printed every request, headers and keys included, on stdout),
header values in a nested ``headers`` table reach the exchange but are never printed, in
scan output, errors or ``config show``. The loopback exchange records what it was sent."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from btcscan.cli import cli
from btcscan.data import cache
from btcscan.data.fetch import make_client
from btcscan.errors import ExitCode
from tests.test_config import toml_table

SECRET = "sekrit-header-7731"


@pytest.fixture
def live(server):
    server.now_ms = int(time.time() * 1000)  # the CLI reads the real clock
    return server


def config_with(tmp_path, binance, **extra) -> str:
    p = tmp_path / "config.toml"
    table = {"timeout": 1000, "rateLimit": 0, "urls": binance["urls"], **extra}
    p.write_text(toml_table(table, "exchanges.binance")
                 + '\n[watchlist]\nmarkets = ["binance:ETH/USDT"]\n')
    return str(p)


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def test_verbose_in_the_config_is_refused_before_any_request(live, binance, tmp_path):
    cfg = config_with(tmp_path, binance, verbose="true", headers={"X-MBX-APIKEY": SECRET})
    cfg_text = open(cfg).read().replace('"verbose" = "true"', '"verbose" = true')
    open(cfg, "w").write(cfg_text)
    res = run("scan", "ETH/USDT", "--config", cfg, "--format", "json",
              "--cache-dir", str(tmp_path / "c"))
    assert res.exit_code == ExitCode.CONFIG
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "exchanges.binance.verbose" in lines[0], res.stderr
    assert res.stdout == "" and SECRET not in res.stderr
    assert live.requests == [] and not (tmp_path / "c").exists()


def test_verbose_false_is_accepted_and_a_python_caller_cannot_turn_it_on():
    assert make_client("binance", {"verbose": True}).verbose is False


def test_header_values_reach_the_exchange_and_are_never_printed(live, binance, tmp_path):
    cfg = config_with(tmp_path, binance, headers={"X-MBX-APIKEY": SECRET})
    res = run("scan", "ETH/USDT", "--config", cfg, "--format", "json", "-t", "1d",
              "--cache-dir", str(tmp_path / "c"))
    assert res.exit_code == ExitCode.OK, res.stderr
    doc = json.loads(res.stdout)  # nothing but the document on stdout
    assert doc["series"][0]["source"]["symbol"] == "ETH/USDT"
    assert SECRET not in res.stdout + res.stderr
    assert any(r.headers.get("X-MBX-APIKEY") == SECRET for r in live.requests)
    cached = cache.load(tmp_path / "c", "binance", "ETH/USDT", "1d")
    assert cached.height == doc["series"][0]["candles"] > 0


def test_a_failing_exchange_names_no_header_value(live, binance, tmp_path, fast_retry):
    live.fail("status", status=503, times=99)
    cfg = config_with(tmp_path, binance, headers={"X-MBX-APIKEY": SECRET})
    env = {"BTCSCAN_BINANCE_API_KEY": "sekrit-env-key", "BTCSCAN_BINANCE_SECRET": "sekrit-s"}
    res = run("scan", "ETH/USDT", "--config", cfg, "--format", "json", "-t", "1d",
              "--cache-dir", str(tmp_path / "c"), env=env)
    assert res.exit_code == ExitCode.NETWORK
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("btcscan: error: binance ETH/USDT:")
    assert "sekrit" not in res.stdout + res.stderr and res.stdout == ""
    assert not list((tmp_path / "c").rglob("*.parquet"))


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_config_show_prints_no_secret(binance, tmp_path, fmt):
    cfg = config_with(tmp_path, binance, headers={"X-MBX-APIKEY": SECRET},
                      options={"nested": {"headers": {"Authorization": f"Bearer {SECRET}"}}})
    res = run("config", "show", "--config", cfg, "--format", fmt,
              env={"BTCSCAN_BINANCE_API_KEY": "sekrit-env-key"})
    assert res.exit_code == ExitCode.OK, res.stderr
    assert "sekrit" not in res.stdout + res.stderr and res.stderr == ""
    if fmt == "json":
        assert json.loads(res.stdout)["watchlist"] == {"markets": ["binance:ETH/USDT"]}


def test_a_secret_key_nested_anywhere_in_an_exchange_table_is_refused(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(f'[exchanges.binance.options.auth]\nsecret = "{SECRET}"\n')
    res = run("config", "show", "--config", str(p))
    assert res.exit_code == ExitCode.CONFIG
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "exchanges.binance.options.auth.secret" in lines[0]
    assert SECRET not in res.stdout + res.stderr and res.stdout == ""
