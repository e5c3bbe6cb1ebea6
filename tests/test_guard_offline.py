"""Offline means offline: a run with --sample, --from-file or --offline makes no network
connection, whatever else is given (issue 14). Sockets are trapped in the process (every
connect and name lookup raises and is recorded) and, once, in a subprocess through a
sitecustomize module. Each case checks the exit code, the one stderr line, that stdout is
pure, that nothing connected and that no file was written where none should be."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from btcscan.cli import cli
from btcscan.errors import ExitCode
from tests.conftest import REPO
from tests.exchange_server import loopback_options


@pytest.fixture
def trapped(monkeypatch):
    """Every attempt to reach the network is recorded, then refused."""
    attempts: list[str] = []

    def refuse(what):
        def fn(*args, **kwargs):
            attempts.append(f"{what} {args[1:] if what.startswith('socket.') else args}")
            raise OSError(f"test: network use forbidden ({what})")
        return fn

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    return attempts


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def one_error_line(res, *needles: str) -> None:
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("btcscan: error: "), res.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def loopback_config(tmp_path: Path, watchlist: str = "") -> Path:
    """A config whose exchanges point at 127.0.0.1:9 (nothing listens): reaching it would be
    a connection attempt, which the trap records."""
    opts = loopback_options("binance", "http://127.0.0.1:9")
    api = opts["urls"]["api"]
    lines = ["[exchanges.binance]", "timeout = 500", "rateLimit = 0",
             "[exchanges.binance.urls.api]"]
    lines += [f'{k} = "{v}"' for k, v in api.items() if isinstance(v, str)]
    p = tmp_path / "loop.toml"
    p.write_text((watchlist + "\n" if watchlist else "") + "\n".join(lines) + "\n")
    return p


def files_under(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*")) if d.exists() else []


def test_sample_with_bare_symbols_in_a_symbols_file_reads_bundled_markets(trapped, tmp_path):
    f = tmp_path / "markets.txt"
    f.write_text("# majors\nBTC/USDT\nETH/USDT, SOL/USDT\n")
    cfg = loopback_config(tmp_path)
    res = run("scan", "--sample", "--symbols-file", str(f), "--config", str(cfg),
              "--format", "json", "--cache-dir", str(tmp_path / "cache"))
    assert res.exit_code == ExitCode.OK, res.stderr
    doc = json.loads(res.stdout)  # stdout is one JSON document, nothing else
    assert [s["source"]["kind"] for s in doc["series"]] == ["sample"] * 3
    assert [s["source"]["symbol"] for s in doc["series"]] == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    assert trapped == []
    assert files_under(tmp_path / "cache") == []


def test_sample_with_an_exchange_market_is_refused_before_any_connection(trapped, tmp_path):
    f = tmp_path / "markets.txt"
    f.write_text("BTC/USDT\nbinance:ETH/USDT\n")
    res = run("scan", "--sample", "--symbols-file", str(f), "--config",
              str(loopback_config(tmp_path)), "--cache-dir", str(tmp_path / "cache"))
    assert res.exit_code == ExitCode.USAGE
    one_error_line(res, "--sample scans the bundled markets only", "binance:ETH/USDT")
    assert res.stdout == "" and trapped == []
    assert files_under(tmp_path / "cache") == []


@pytest.mark.parametrize("flag", ["--sample", "--offline"])
def test_top_needs_the_network_so_it_is_refused_offline(trapped, tmp_path, flag):
    res = run("scan", flag, "--top", "5", "--config", str(loopback_config(tmp_path)),
              "--cache-dir", str(tmp_path / "cache"))
    assert res.exit_code == ExitCode.USAGE
    one_error_line(res, "--top N", "needs the network")
    assert res.stdout == "" and trapped == []


def test_offline_with_the_configs_top_is_refused(trapped, tmp_path):
    cfg = loopback_config(tmp_path, '[watchlist]\ntop = 3\nquote = "USDT"')
    res = run("scan", "--offline", "--config", str(cfg), "--cache-dir", str(tmp_path / "c"))
    assert res.exit_code == ExitCode.USAGE
    one_error_line(res, "watchlist.top", "--offline")
    assert res.stdout == "" and trapped == []


def test_offline_market_not_cached_is_a_data_error_without_connecting(trapped, tmp_path):
    cfg = loopback_config(tmp_path, '[watchlist]\nmarkets = ["binance:BTC/USDT"]')
    res = run("scan", "--offline", "--config", str(cfg), "--cache-dir", str(tmp_path / "c"),
              "--format", "json")
    assert res.exit_code == ExitCode.DATA
    assert "no 1w candles in the cache" in res.stderr
    assert res.stdout == "" and trapped == []
    assert files_under(tmp_path / "c") == []


def test_from_file_with_a_live_watchlist_in_the_config_reads_only_the_file(trapped, tmp_path):
    cfg = loopback_config(tmp_path, '[watchlist]\nmarkets = ["binance:BTC/USDT"]\ntop = 5')
    src = REPO / "btcscan" / "data" / "sample" / "bitstamp_btc-usd_1d.parquet"
    res = run("scan", "--from-file", str(src), "--config", str(cfg), "--format", "json",
              "--cache-dir", str(tmp_path / "c"))
    assert res.exit_code == ExitCode.OK, res.stderr
    assert [s["source"]["kind"] for s in json.loads(res.stdout)["series"]] == ["file"]
    assert trapped == [] and files_under(tmp_path / "c") == []


def test_btcscan_config_naming_a_missing_file_is_an_error_like_config(trapped, tmp_path):
    missing = tmp_path / "typo.toml"
    res = run("scan", "--sample", "--format", "json", env={"BTCSCAN_CONFIG": str(missing)})
    assert res.exit_code == ExitCode.CONFIG
    one_error_line(res, str(missing), "config file not found")
    assert res.stdout == "" and trapped == [] and not missing.exists()
    again = run("scan", "--sample", "--config", str(missing))
    assert again.exit_code == ExitCode.CONFIG and "config file not found" in again.stderr


def test_stats_on_the_sample_with_a_live_config_does_not_connect(trapped, tmp_path):
    cfg = loopback_config(tmp_path, '[watchlist]\nmarkets = ["binance:BTC/USDT"]')
    res = run("stats", "--sample", "--config", str(cfg), "--format", "json")
    assert res.exit_code == ExitCode.OK, res.stderr
    json.loads(res.stdout)
    assert trapped == []


SITECUSTOMIZE = """
import os, socket
_log = os.environ["TRAP_LOG"]
def _refuse(*args, **kwargs):
    with open(_log, "a") as fh:
        fh.write(repr(args[1:]) + "\\n")
    raise OSError("network use forbidden")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
"""


def test_a_real_process_with_sample_and_a_symbols_file_opens_no_socket(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    markets = tmp_path / "m.txt"
    markets.write_text("ETH/USDT\n")
    log = tmp_path / "connects.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BTCSCAN_")}
    env.update(PYTHONPATH=f"{tmp_path / 'site'}{os.pathsep}{REPO}", TRAP_LOG=str(log),
               BTCSCAN_CACHE_DIR=str(tmp_path / "cache"), XDG_CONFIG_HOME=str(tmp_path / "x"))
    proc = subprocess.run(
        [sys.executable, "-m", "btcscan", "scan", "--sample", "--symbols-file", str(markets),
         "--config", str(loopback_config(tmp_path)), "--format", "json"],
        capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["series"][0]["source"]["symbol"] == "ETH/USDT"
    assert not log.exists(), log.read_text()
    assert files_under(tmp_path / "cache") == []
    # the trap itself works: the same interpreter setup does record a connection
    probe = subprocess.run([sys.executable, "-c", "import socket; socket.create_connection("
                            "('127.0.0.1', 9))"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and log.exists()
