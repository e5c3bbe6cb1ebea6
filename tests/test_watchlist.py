"""Issue #6: presets, settings with their sources, watchlists across exchanges and timeframes,
--top, sorting, and one bad market not stopping the others (exit 9)."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from btcscan import api
from btcscan.cli import cli
from btcscan.config import load_config
from btcscan.effective import PATTERN_KEYS, SCAN_KEYS, resolve
from btcscan.errors import ConfigError, ExitCode, UsageError
from btcscan.patterns.params import PatternParams
from btcscan.render.summary import rank
from btcscan.settings import ScanSettings
from btcscan.watchlist import MarketSpec, parse_market, read_symbols_file, top_markets
from tests.conftest import REPO
from tests.exchange_server import NOW

CONFIGS = REPO / "configs"


def run(*args: str, env: dict | None = None):
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)
    return r.exit_code, r.stdout, r.stderr


def write(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# --- settings: precedence and sources ------------------------------------------------------


def test_precedence_flag_env_file_default(tmp_path):
    p = write(tmp_path, '[scan]\ntimeframe = "1d"\nrsi_period = 10\nsma_periods = [20]\n'
                        '[patterns]\npivot_left = 3\n')
    env = {"BTCSCAN_SCAN_RSI_PERIOD": "21", "BTCSCAN_SCAN_SMA_PERIODS": "30,60",
           "BTCSCAN_PATTERNS_PIVOT_RIGHT": "4"}
    eff = resolve(load_config(p), str(p), env, sets=("sma_periods=50,200",),
                  pattern_params=("pivot_left=2",))
    s = eff.settings
    assert (s.timeframe, s.rsi_period, s.sma_periods, s.atr_period) == ("1d", 21, (50, 200), 14)
    assert (s.patterns.pivot_left, s.patterns.pivot_right) == (2, 4)
    src = eff.sources
    assert src["scan.timeframe"] == f"file {p}"
    assert src["scan.rsi_period"] == "environment BTCSCAN_SCAN_RSI_PERIOD"
    assert src["scan.sma_periods"] == "flag --set"
    assert src["scan.atr_period"] == "default"
    assert src["patterns.pivot_left"] == "flag --pattern-param"
    assert src["patterns.pivot_right"] == "environment BTCSCAN_PATTERNS_PIVOT_RIGHT"


def test_config_show_prints_every_key_with_value_and_source(tmp_path):
    p = write(tmp_path, '[scan]\ntimeframe = "1d"\n[watchlist]\nmarkets = ["sample:ETH/USDT"]\n')
    code, out, err = run("config", "show", "--config", str(p), "--set", "ladder_size=7",
                         "--hidden-divergences", env={"BTCSCAN_SCAN_RSI_PERIOD": "21"})
    assert (code, err) == (0, "")
    rows = {ln.split()[0]: re.split(r"\s{2,}", ln)[1:] for ln in out.splitlines()[1:]}
    assert out.splitlines()[0] == f"config file: {p}"
    assert rows["scan.timeframe"] == ['"1d"', f"file {p}"]
    assert rows["scan.rsi_period"] == ["21", "environment BTCSCAN_SCAN_RSI_PERIOD"]
    assert rows["scan.ladder_size"] == ["7", "flag --set"]
    assert rows["scan.sma_periods"] == ["[50, 100]", "default"]
    assert rows["patterns.include_hidden"] == ["true", "flag --hidden-divergences"]
    assert rows["watchlist.markets"] == ['["sample:ETH/USDT"]', f"file {p}"]
    assert {k for k in rows if not k.startswith("watchlist.")} == (
        {f"scan.{k}" for k in SCAN_KEYS} | {f"patterns.{k}" for k in PATTERN_KEYS})
    code, out, _ = run("config", "show", "--config", str(p), "--format", "json")
    doc = json.loads(out)
    assert doc["settings"]["scan.timeframe"] == {"value": "1d", "source": f"file {p}"}
    assert doc["settings"]["scan.power_law"] == {"value": None, "source": "default"}


@pytest.mark.parametrize("args,env,code,needle", [
    (["--set", "rsi_period=x"], {}, ExitCode.USAGE, "--set rsi_period=x: scan.rsi_period = "
                                                     "'x' is not an integer"),
    (["--set", "colour=red"], {}, ExitCode.USAGE, "unknown key scan.colour; allowed: timeframe"),
    (["--set", "noequals"], {}, ExitCode.USAGE, "use KEY=VALUE"),
    ([], {"BTCSCAN_SCAN_SMA_PERIODS": "fifty"}, ExitCode.CONFIG,
     "environment BTCSCAN_SCAN_SMA_PERIODS: scan.sma_periods = 'fifty' is not a list of"),
    ([], {"BTCSCAN_PATTERNS_PIVOT_LEFT": "x"}, ExitCode.CONFIG,
     "environment BTCSCAN_PATTERNS_PIVOT_LEFT: "),
    (["--config", "missing.toml"], {}, ExitCode.CONFIG, "missing.toml: config file not found"),
])
def test_setting_errors_are_one_line_with_their_exit_code(args, env, code, needle):
    c, out, err = run("scan", "--sample", *args, env=env)
    assert c == code and needle in err and err.count("\n") == 1 and out == ""


def test_a_bad_key_in_a_file_stops_the_scan_naming_file_and_key(tmp_path):
    p = write(tmp_path, "[scan]\nsma_period = [50]\n")
    code, out, err = run("scan", "--sample", "--config", str(p))
    assert code == ExitCode.CONFIG and out == ""
    assert err.startswith(f"btcscan: error: {p}: unknown key scan.sma_period; allowed: ")


# --- presets --------------------------------------------------------------------------------


def _uncommented(text: str) -> str:
    """example.toml with every `# key = value` line uncommented."""
    return "\n".join(re.sub(r"^# (\w+ = .*)$", r"\1", ln) for ln in text.splitlines())


def test_example_toml_lists_every_setting_with_its_default(tmp_path):
    text = (CONFIGS / "example.toml").read_text()
    doc = tomllib.loads(_uncommented(text))
    assert set(doc["scan"]) == set(SCAN_KEYS)
    assert set(doc["patterns"]) == set(PATTERN_KEYS)
    defaults = ScanSettings()
    for k in SCAN_KEYS:
        if k == "power_law":  # the default is "unset": only for BTC markets
            assert defaults.power_law is None
            continue
        if k == "stats_horizon":  # the default is "unset": a horizon per timeframe
            assert defaults.stats_horizon is None and isinstance(doc["scan"][k], int)
            continue
        v = doc["scan"][k]
        assert (tuple(v) if isinstance(v, list) else v) == getattr(defaults, k), k
    assert doc["patterns"] == PatternParams().as_dict()
    # and the uncommented file is a valid config (minus the example markets' network)
    p = write(tmp_path, _uncommented(text))
    assert load_config(p)["watchlist"]["top"] == 20


def test_btc_weekly_preset_on_the_sample():
    code, out, err = run("scan", "--config", str(CONFIGS / "btc-weekly.toml"), "--sample",
                         "--format", "json")
    assert code == 0, err
    (s,) = json.loads(out)["series"]
    assert s["timeframe"] == "1w" and [m["period"] for m in s["smas"]] == [50, 100]
    assert s["rsi"]["name"] == "RSI 14"
    assert s["context"]["power_law"][0]["label"] == "fit on this series"
    assert s["patterns"] is not None
    assert "bitstamp:BTC/USD" in load_config(CONFIGS / "btc-weekly.toml")["watchlist"]["markets"]


def test_majors_daily_preset_watchlist(tmp_path):
    """The preset's own [scan] and markets, pointed at the bundled history (offline)."""
    text = (CONFIGS / "majors-daily.toml").read_text().replace('exchange = "binance"',
                                                               'exchange = "sample"')
    code, out, err = run("scan", "--config", str(write(tmp_path, text)), "--format", "ndjson")
    assert code == 0, err
    lines = [json.loads(ln) for ln in out.splitlines()]
    assert sorted(ln["series"]["source"]["symbol"] for ln in lines) == sorted(
        load_config(CONFIGS / "majors-daily.toml")["watchlist"]["markets"])
    for ln in lines:
        assert ln["series"]["timeframe"] == "1d"
        assert [m["period"] for m in ln["series"]["smas"]] == [50, 100, 200]


# --- watchlists -----------------------------------------------------------------------------


def test_parse_market_and_symbols_file(tmp_path):
    assert parse_market("binance:eth/usdt@1d") == MarketSpec("ETH/USDT", "binance", "1d")
    assert parse_market("SOL/USDT") == MarketSpec("SOL/USDT")
    with pytest.raises(UsageError, match="unknown timeframe '7x'"):
        parse_market("BTC/USDT@7x")
    with pytest.raises(UsageError, match=r"'BTC USDT' is not a market"):
        parse_market("BTC USDT")
    f = write(tmp_path, "# majors\nsample:BTC/USD@1w, sample:ETH/USDT\n\nkraken:XBT/USD  # k\n",
              "w.txt")
    assert [s.text() for s in read_symbols_file(f)] == [
        "sample:BTC/USD@1w", "sample:ETH/USDT", "kraken:XBT/USD"]
    with pytest.raises(UsageError, match="no market listed"):
        read_symbols_file(write(tmp_path, "# none\n", "e.txt"))


def test_watchlist_across_timeframes_with_bad_markets_completes_the_others(tmp_path):
    f = write(tmp_path, "sample:BTC/USD@1w\nsample:NOPE/USDT@1d\nsample:SOL/USDT@1M\n", "w.txt")
    code, out, err = run("scan", "--symbols-file", str(f), "sample:ETH/USDT@1d",
                         "--set", "sma_periods=50,100", "--format", "ndjson")
    assert code == ExitCode.PARTIAL == 9
    lines = [json.loads(ln) for ln in out.splitlines()]
    got = {(ln["series"]["source"]["symbol"], ln["series"]["timeframe"]) for ln in lines
           if "series" in ln}
    assert got == {("BTC/USD", "1w"), ("ETH/USDT", "1d"), ("SOL/USDT", "1M")}
    (bad,) = [ln["error"] for ln in lines if "error" in ln]
    assert bad["source"] == "sample:NOPE/USDT@1d" and bad["exit_code"] == ExitCode.USAGE
    assert "btcscan: error: sample:NOPE/USDT@1d: no bundled sample for 'NOPE/USDT'" in err


def test_too_little_history_is_one_failed_market(tmp_path):
    """SOL/USDT has 6 yearly-ish... 67 monthly candles: an SMA period above the candles
    warns, but fewer candles than the RSI needs is a data error for that market only."""
    code, out, err = run("scan", "sample:SOL/USDT@1M", "sample:BTC/USD@1M",
                         "--set", "rsi_period=100", "--format", "json")
    assert code == ExitCode.PARTIAL
    doc = json.loads(out)
    assert [s["source"]["symbol"] for s in doc["series"]] == ["BTC/USD"]
    (e,) = doc["errors"]
    assert e["source"] == "sample:SOL/USDT@1M" and e["exit_code"] == ExitCode.DATA
    assert "the indicators need at least 101" in e["error"]


def test_all_markets_failing_exits_with_their_code():
    code, out, err = run("scan", "sample:NOPE/USDT", "sample:NADA/USDT")
    assert code == ExitCode.USAGE and out == ""
    assert err.splitlines()[-1] == "btcscan: error: all 2 market(s) failed (see the lines above)"


def test_loopback_exchange_watchlist_with_a_delisted_market(tmp_path, server, binance,
                                                            fast_retry, monkeypatch):
    """The real ccxt client against the loopback Binance: BTC/USDT and ETH/USDT scan, a
    symbol the exchange does not list fails alone, and a bundled market rides along."""
    monkeypatch.setattr("btcscan.data.market.time.time", lambda: NOW / 1000)
    from tests.test_config import toml_table

    cfg = write(tmp_path, toml_table(binance, "exchanges.binance") + '\n[watchlist]\nmarkets = '
                '["binance:BTC/USDT@1d", "binance:GONE/USDT@1d", "ETH/USDT@1w", '
                '"sample:ADA/USDT@1d"]\n')
    code, out, err = run("scan", "--config", str(cfg), "--cache-dir", str(tmp_path / "c"),
                         "--format", "ndjson")
    assert code == ExitCode.PARTIAL, err
    lines = [json.loads(ln) for ln in out.splitlines()]
    ok = sorted((ln["series"]["source"]["symbol"], ln["series"]["timeframe"]) for ln in lines
                if "series" in ln)
    assert ok == [("ADA/USDT", "1d"), ("BTC/USDT", "1d"), ("ETH/USDT", "1w")]
    (bad,) = [ln["error"] for ln in lines if "error" in ln]
    assert bad["source"] == "binance:GONE/USDT@1d" and bad["exit_code"] == ExitCode.EXCHANGE
    assert "GONE/USDT" in err


def test_top_markets_by_quote_volume(server, binance, tmp_path, monkeypatch, fast_retry):
    assert top_markets({"A/USDT": {"quoteVolume": 5.0}, "B/USDT": {"quoteVolume": 9.0},
                        "C/BTC": {"quoteVolume": 99.0}, "D/USDT": {"baseVolume": 2.0,
                                                                   "last": 4.0}},
                       2, "USDT") == ["B/USDT", "D/USDT"]
    monkeypatch.setattr("btcscan.data.market.time.time", lambda: NOW / 1000)
    server.volumes.update({"BTC/USDT": 9e9, "ETH/USDT": 5e9, "BTC/USD": 1e12})
    from tests.test_config import toml_table

    cfg = write(tmp_path, toml_table(binance, "exchanges.binance"))
    code, out, err = run("scan", "--top", "1", "--quote", "USDT", "--config", str(cfg),
                         "--cache-dir", str(tmp_path / "c"), "-t", "1d", "--format", "json")
    assert code == 0, err
    assert [s["source"]["symbol"] for s in json.loads(out)["series"]] == ["BTC/USDT"]
    code, _, err = run("scan", "--quote", "USDT")
    assert code == ExitCode.USAGE and "--quote picks among the --top N markets" in err


# --- sorting --------------------------------------------------------------------------------


def test_rank_puts_new_then_confirmed_signals_then_the_nearest_level():
    res = api.scan(sample=True, symbols=["BTC/USD", "ETH/USDT", "SOL/USDT", "XRP/USDT"],
                   timeframe="1d", settings=replace(ScanSettings(), timeframe="1d"))
    from btcscan.models import Signal

    by = {r.source.symbol: r for r in res.series}

    def sig(sym: str, kind: str) -> Signal:
        r = by[sym]
        return Signal(r.source.label, sym, "1d", kind, r.asof, None, "", f"{sym}{kind}")

    confirmed = (sig("XRP/USDT", "a"), sig("XRP/USDT", "b"), sig("SOL/USDT", "a"))
    shown = (sig("SOL/USDT", "a"),)  # --new-only: only SOL's is new
    order = [r.source.symbol for r in rank(res, shown, confirmed).series]
    assert order[:2] == ["SOL/USDT", "XRP/USDT"]
    rest = sorted(["BTC/USD", "ETH/USDT"], key=lambda s: abs(by[s].levels[0].distance_pct))
    assert order[2:] == rest
    assert abs(by[rest[0]].levels[0].distance_pct) < abs(by[rest[1]].levels[0].distance_pct)


def test_summary_table_lists_signals_first_and_failures(tmp_path):
    code, out, err = run("scan", "sample:BTC/USD@1d", "sample:ETH/USDT@1d", "sample:SOL/USDT@1d",
                         "sample:NOPE/USDT")
    assert code == ExitCode.PARTIAL
    lines = out.splitlines()
    assert lines[0].startswith("3 market(s) scanned, 1 failed")
    rows = [ln for ln in lines if ln.lstrip().startswith(("binance:", "bitstamp:"))]
    assert "binance:ETH/USDT" in rows[0] and "bullish" in rows[0]  # the one with a signal
    assert any(ln.startswith("failed: sample:NOPE/USDT: no bundled sample") for ln in lines)
    assert "Long-run context" not in out  # the summary only; --detail adds the panels
    _, detail, _ = run("scan", "sample:BTC/USD@1d", "sample:ETH/USDT@1d", "--detail")
    assert detail.count("Long-run context") == 2


def test_library_scan_markets_collects_errors():
    res = api.scan_markets(["sample:BTC/USD@1w", "sample:XX/YY"])
    assert [r.source.symbol for r in res.series] == ["BTC/USD"]
    assert res.errors[0]["source"] == "sample:XX/YY"
    with pytest.raises(ConfigError):
        resolve({"scan": {"nope": 1}}, "x.toml")


# --- docs/watchlists.md shows real output -----------------------------------------------------


def _doc_block(after: str) -> list[str]:
    text = (REPO / "docs" / "watchlists.md").read_text()
    block = text[text.index(after):].split("```")[0]
    return [ln for ln in block.splitlines()[1:] if ln and ln.strip() != "..."]


def test_docs_show_the_real_config_show_output(monkeypatch):
    monkeypatch.chdir(REPO)
    cmd = "$ btcscan config show --config configs/btc-weekly.toml --set ladder_size=7"
    shown = _doc_block(cmd)
    code, out, _ = run(*cmd.split()[2:])
    assert code == 0 and set(shown) <= set(out.splitlines()) and len(shown) > 10


def test_docs_show_the_real_sorted_table(monkeypatch):
    monkeypatch.chdir(REPO)
    cmd = "$ btcscan scan --config examples/watchlist.toml"
    shown = _doc_block(cmd)
    code, out, _ = run(*cmd.split()[2:])
    assert code == 0 and out.splitlines()[:len(shown)] == shown and len(shown) == 12


def test_console_script_exits_fast_with_output_flushed_and_the_code():
    """The installed command ends with os._exit: stdout (piped, so block-buffered) must be
    flushed first and the exit code kept."""
    import subprocess
    import sys

    code = ("import sys; from btcscan.cli import console_main; sys.argv = ['btcscan', 'scan', "
            "'--sample', '--fail-on', 'below-sma:50', '--format', 'json']; console_main()")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == ExitCode.CONDITION_MET
    assert json.loads(p.stdout)["conditions"][0]["holds"] is True
    assert p.stderr.startswith("btcscan: condition met: below-sma:50")


@pytest.mark.parametrize("markets", [[], ["BTC/USD", "ETH/USDT"]], ids=["report", "table"])
def test_a_plain_scan_imports_nothing_it_does_not_need(markets):
    """matplotlib (charts), jsonschema (tests only), scipy, ccxt (live data), the webhook
    client and numpy.ma (numba's check for masked arrays, skipped by the kernels' own
    argument typing) stay out of a plain sample scan, one market's report or several
    markets' table: each would add to every cron run's start."""
    import subprocess
    import sys

    heavy = ["matplotlib", "jsonschema", "scipy", "ccxt", "urllib.request", "cffi", "numpy.ma"]
    code = (f"import sys, runpy\nsys.argv = ['btcscan', 'scan', '--sample', *{markets!r}]"
            "\ntry:\n    runpy.run_module('btcscan', run_name='__main__')\nexcept SystemExit:\n"
            f"    pass\nprint([m for m in {heavy!r} if m in sys.modules], file=sys.stderr)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    first = p.stdout.splitlines()[0]
    assert first.startswith("2 market(s) scanned") if markets else "BTC/USD · weekly" in first
    assert p.stderr.strip().splitlines()[-1] == "[]"
