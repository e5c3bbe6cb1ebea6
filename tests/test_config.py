"""The TOML config: validation, default location, credentials from the environment, and the
``[exchanges.<id>]`` table reaching the real ccxt client (here: the loopback exchange)."""

from __future__ import annotations

from pathlib import Path

import pytest

from btcscan.config import (
    default_config_path,
    exchange_credentials,
    exchange_options,
    load_config,
)
from btcscan.data.fetch import make_client
from btcscan.data.market import load_market
from btcscan.errors import ConfigError, ExitCode
from tests.exchange_server import NOW


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text)
    return p


def toml_table(d: dict, prefix: str) -> str:
    """A nested dict as TOML tables (enough for ccxt's urls)."""
    lines, subs = [f"[{prefix}]"], []
    for k, v in d.items():
        if isinstance(v, dict):
            subs.append(toml_table(v, f'{prefix}."{k}"'))
        elif isinstance(v, str):
            lines.append(f'"{k}" = "{v}"')
        else:
            lines.append(f'"{k}" = {v}')
    return "\n".join(lines) + "\n" + "\n".join(subs)


def test_valid_config_is_returned(tmp_path):
    p = write(tmp_path, """
[exchanges.binance]
timeout = 15000
rateLimit = 100
httpsProxy = "http://proxy.local:3128"
options = { defaultType = "spot" }

[scan]
timeframe = "1d"
""")
    cfg = load_config(p)
    assert exchange_options(cfg, "binance") == {
        "timeout": 15000, "rateLimit": 100, "httpsProxy": "http://proxy.local:3128",
        "options": {"defaultType": "spot"}}
    assert exchange_options(cfg, "kraken") == {}


@pytest.mark.parametrize("text,needle", [
    ("[exchange.binance]\ntimeout = 1\n", "unknown top-level key 'exchange'"),
    ("colour = 'red'\n", "unknown top-level key 'colour'"),
    ("[exchanges.binance]\ntimeout = 'fast'\n", "exchanges.binance.timeout has type str"),
    ("[exchanges.binance]\nurls = 3\n", "exchanges.binance.urls has type int"),
    ("[exchanges]\nbinance = 3\n", "exchanges.binance must be a table"),
    ("scan = 3\n", "[scan] must be a table"),
    ("[exchanges.binance\n", "not valid TOML"),
    # [scan]: ScanSettings keys only, each with its type
    ("[scan]\nanything = 1\n", "unknown key scan.anything; allowed: timeframe, sma_periods"),
    ("[scan]\nsma_periods = 50\n", "scan.sma_periods = 50 is not a list of integers"),
    ("[scan]\nsma_periods = [50, 'x']\n", "scan.sma_periods = [50, 'x'] is not a list of"),
    ("[scan]\nsma_periods = [1]\n", "scan.sma_periods must list periods of at least 2"),
    ("[scan]\nrsi_period = 0\n", "scan.rsi_period = 0 must be at least 1"),
    ("[scan]\nrsi_period = 14.5\n", "scan.rsi_period = 14.5 is not an integer"),
    ("[scan]\npower_law = 'yes'\n", "scan.power_law = 'yes' is not true or false"),
    ("[scan]\ntimeframe = '7x'\n", "scan.timeframe: "),
    ("[scan]\npower_law_published = 'moon'\n", "allowed: santostasi"),
    ("[patterns]\npivot_lft = 3\n", "patterns: unknown setting 'pivot_lft'"),
    ("[patterns]\nconvergence_ratio = 2.0\n", "patterns.convergence_ratio must be between"),
    # [watchlist]
    ("[watchlist]\nsymbols = ['BTC/USDT']\n", "unknown key watchlist.symbols; allowed: markets"),
    ("[watchlist]\nmarkets = 'BTC/USDT'\n", "watchlist.markets = 'BTC/USDT' is not a list"),
    ("[watchlist]\nmarkets = ['binance:BTC USDT']\n", "watchlist.markets[0]: "),
    ("[watchlist]\nmarkets = ['BTC/USDT@7x']\n", "watchlist.markets[0]: "),
    ("[watchlist]\ntop = 0\n", "watchlist.top = 0 is not an integer >= 1"),
    ("[watchlist]\nquote = 'USDT'\n", "watchlist.quote needs watchlist.top"),
    ("[exchanges.binance]\napiKey = 'abc123secret'\n", "BTCSCAN_BINANCE_API_KEY"),
])
def test_invalid_config_names_the_file_and_key(tmp_path, text, needle):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert needle in msg and str(p) in msg and "\n" not in msg
    assert e.value.exit_code == ExitCode.CONFIG == 8
    assert "abc123secret" not in msg


def test_missing_explicit_file_is_an_error_missing_default_is_empty(tmp_path, monkeypatch):
    assert load_config(None) == {}  # the default location (empty XDG dir of conftest)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    monkeypatch.setenv("BTCSCAN_CONFIG", str(tmp_path / "absent.toml"))
    assert default_config_path() == tmp_path / "absent.toml"
    with pytest.raises(ConfigError, match="absent.toml: config file not found"):
        load_config(None)  # a variable naming a missing file is as explicit as --config
    write(tmp_path, "[exchanges.kraken]\ntimeout = 5\n").rename(tmp_path / "absent.toml")
    assert load_config(None) == {"exchanges": {"kraken": {"timeout": 5}}}
    monkeypatch.delenv("BTCSCAN_CONFIG")
    assert default_config_path().name == "config.toml"


def test_credentials_come_from_the_environment_only(monkeypatch):
    monkeypatch.setenv("BTCSCAN_BINANCE_API_KEY", "k-123")
    monkeypatch.setenv("BTCSCAN_BINANCE_SECRET", "s-456")
    assert exchange_credentials("binance") == {"apiKey": "k-123", "secret": "s-456"}
    assert exchange_credentials("kraken") == {}
    client = make_client("binance", {"timeout": 1234, "verbose": True})
    assert (client.apiKey, client.secret, client.timeout) == ("k-123", "s-456", 1234)
    assert client.verbose is False  # it would print the key with every request


def test_config_urls_point_the_real_client_at_a_mirror(server, binance, tmp_path,
                                                       monkeypatch):
    """The loopback exchange is reached only through the config file, as a user would."""
    p = write(tmp_path, toml_table({"timeout": 1500, "rateLimit": 0, "urls": binance["urls"]},
                                   "exchanges.binance"))
    cfg = load_config(p)
    assert cfg["exchanges"]["binance"]["urls"]["api"]["public"] == server.base + "/api/v3"
    c = load_market("ETH/USDT", cache_dir=tmp_path / "c", now_ms=NOW,
                    exchange_options=exchange_options(cfg, "binance"))
    assert len(c) == 300
    assert {r.path for r in server.requests} >= {"/api/v3/exchangeInfo", "/api/v3/klines"}
