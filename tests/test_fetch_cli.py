"""``btcscan fetch`` and ``btcscan cache`` driven through click against the loopback exchange."""

from __future__ import annotations

import io
import time

import pytest
from click.testing import CliRunner

from btcscan.cli_data import exit_code_of, parse_since, progress_for
from btcscan.data import cache
from btcscan.errors import DataError, ExitCode, NetworkError, UsageError
from tests.test_config import toml_table


@pytest.fixture
def cli():
    from btcscan.cli import cli as group

    return group


@pytest.fixture
def live(server):
    """The loopback exchange on the real clock (the CLI has no clock option)."""
    server.now_ms = int(time.time() * 1000)
    return server


@pytest.fixture
def config(tmp_path, binance):
    p = tmp_path / "config.toml"
    p.write_text(toml_table({"timeout": 1000, "rateLimit": 0, "urls": binance["urls"]},
                            "exchanges.binance"))
    return p


def run(cli, *args, env=None):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_fetch_then_refresh_then_list_and_clear(cli, live, config, tmp_path):
    cdir = str(tmp_path / "c")
    code, out, err = run(cli, "fetch", "BTC/USDT", "ETH/USDT", "--config", str(config),
                         "--cache-dir", cdir)
    assert code == 0, err
    assert err == ""  # no progress bar, no noise, when stderr is not a terminal
    n_btc = len(cache.load(tmp_path / "c", "binance", "BTC/USDT", "1d"))
    lines = out.splitlines()
    assert lines[0].startswith(f"binance BTC/USDT 1d: {n_btc} closed candles ")
    assert f"; {n_btc} new, " in lines[0]
    assert lines[1].startswith("binance ETH/USDT 1d: ")
    # every request is accounted for: the pages of both markets plus one market list
    said = sum(int(ln.rsplit(", ", 1)[1].split()[0]) for ln in lines[:2])
    assert said == len(live.candle_requests()) + 1
    assert len(live.candle_requests()) == -(-(n_btc + 1) // 1000) + 1
    live.reset_log()
    code, out, err = run(cli, "fetch", "BTC/USDT", "--config", str(config), "--cache-dir", cdir)
    assert code == 0 and out.splitlines()[0].endswith("; 0 new, 0 request(s)")
    assert live.requests == []
    code, out, _ = run(cli, "cache", "list", "--cache-dir", cdir)
    assert code == 0
    rows = [ln.split() for ln in out.splitlines()[2:]]
    assert [(r[0], r[1], r[2], int(r[3])) for r in rows] == [
        ("binance", "BTC/USDT", "1d", n_btc), ("binance", "ETH/USDT", "1d", 300 + (
            len(cache.load(tmp_path / "c", "binance", "ETH/USDT", "1d")) - 300))]
    code, out, _ = run(cli, "cache", "clear", "ETH/USDT", "--cache-dir", cdir)
    assert code == 0 and out.startswith("removed 1 cache file(s) for ETH/USDT")
    assert [e.symbol for e in cache.list_entries(tmp_path / "c")] == ["BTC/USDT"]


def test_cache_dir_from_the_environment(cli, live, config, tmp_path):
    env = {"BTCSCAN_CACHE_DIR": str(tmp_path / "envcache")}
    code, _, err = run(cli, "fetch", "ETH/USDT", "--config", str(config), env=env)
    assert code == 0, err
    assert [e.symbol for e in cache.list_entries(tmp_path / "envcache")] == ["ETH/USDT"]
    code, out, _ = run(cli, "cache", "list", env=env)
    assert "ETH/USDT" in out and str(tmp_path / "envcache") in out


def test_one_bad_market_is_a_partial_failure(cli, live, config, tmp_path):
    code, out, err = run(cli, "fetch", "ETH/USDT", "NOPE/USDT", "--config", str(config),
                         "--cache-dir", str(tmp_path / "c"))
    assert code == ExitCode.PARTIAL == 9
    assert out.startswith("binance ETH/USDT 1d: ")
    assert err.splitlines() == [
        ("btcscan: error: binance NOPE/USDT: the exchange does not list this market; check the "
         "symbol (e.g. BTC/USDT)")]


def test_network_failure_exit_code_and_secrets_never_printed(cli, live, config, tmp_path,
                                                             fast_retry):
    live.fail("status", status=503, times=99)
    env = {"BTCSCAN_BINANCE_API_KEY": "sekrit-key-42", "BTCSCAN_BINANCE_SECRET": "sekrit-sec"}
    code, out, err = run(cli, "fetch", "ETH/USDT", "--config", str(config),
                         "--cache-dir", str(tmp_path / "c"), env=env)
    assert code == ExitCode.NETWORK == 5
    assert len(err.splitlines()) == 1
    assert err.startswith("btcscan: error: binance ETH/USDT: unavailable (HTTP 503")
    assert "sekrit" not in out + err


@pytest.mark.parametrize("args,code,needle", [
    (["--since", "yesterday"], ExitCode.USAGE, "is not a date"),
    (["--exchange", "nosuchex"], ExitCode.EXCHANGE, "unknown exchange 'nosuchex'"),
    (["--offline"], ExitCode.DATA, "no 1d candles in the cache"),
])
def test_usage_errors_are_one_line_with_their_code(cli, live, config, tmp_path, args, code,
                                                  needle):
    c, _, err = run(cli, "fetch", "ETH/USDT", "--config", str(config), "--cache-dir",
                      str(tmp_path / "c"), *args)
    assert c == code and needle in err and len(err.splitlines()) == 1


def test_bad_config_file_exits_8(cli, tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[exchange.binance]\n")
    code, _, err = run(cli, "fetch", "ETH/USDT", "--config", str(p))
    assert code == ExitCode.CONFIG == 8
    assert str(p) in err and "unknown top-level key 'exchange'" in err


def test_offline_fetch_makes_no_request(cli, live, config, tmp_path):
    cdir = str(tmp_path / "c")
    run(cli, "fetch", "ETH/USDT", "--config", str(config), "--cache-dir", cdir)
    live.reset_log()
    code, out, _ = run(cli, "fetch", "ETH/USDT", "--offline", "--config", str(config),
                       "--cache-dir", cdir)
    assert code == 0 and live.requests == []
    assert "offline: candles from the cache" in out


def test_parse_since():
    assert parse_since("2024-01-01") == 1_704_067_200_000
    assert parse_since("2024-01-01T12:00:00Z") == 1_704_110_400_000
    assert parse_since(None) is None
    with pytest.raises(UsageError):
        parse_since("01/02/2024")


def test_exit_code_of_mixed_results():
    assert exit_code_of([1, 2]) == ExitCode.OK
    assert exit_code_of([NetworkError("x")]) == ExitCode.NETWORK
    assert exit_code_of([NetworkError("x"), DataError("y")]) == ExitCode.PARTIAL
    assert exit_code_of([1, DataError("y")]) == ExitCode.PARTIAL


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal():
    with progress_for(["A"], stream=io.StringIO()) as p:
        assert p is None
    tty = _Tty()
    with progress_for(["A", "B"], stream=tty) as p:
        p("A", 1000, False)
        p("A", 0, True)
    assert p is not None


def test_scan_live_markets_through_the_cache(cli, live, config, tmp_path):
    cdir = str(tmp_path / "c")
    code, out, err = run(cli, "scan", "BTC/USDT", "NOPE/USDT", "--exchange", "binance",
                         "--timeframe", "1w", "--format", "json", "--config", str(config),
                         "--cache-dir", cdir)
    assert code == ExitCode.PARTIAL
    assert "btcscan: error: binance NOPE/USDT: the exchange does not list this market" in err
    import json

    doc = json.loads(out)
    (series,) = doc["series"]
    assert series["source"]["exchange"] == "binance" and series["source"]["symbol"] == "BTC/USDT"
    assert [e["source"] for e in doc["errors"]] == ["binance:NOPE/USDT"]
    assert cache.load(tmp_path / "c", "binance", "BTC/USDT", "1w") is not None
    live.reset_log()
    code, out, err = run(cli, "scan", "BTC/USDT", "--timeframe", "1w", "--offline",
                         "--cache-dir", cdir, "--format", "json")
    assert code == 0, err
    assert live.requests == []
    assert json.loads(out)["series"][0]["source"]["symbol"] == "BTC/USDT"
