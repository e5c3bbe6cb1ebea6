"""Every failure mapped, nothing half-done (issue 14). Each of these exited 1 with a traceback
line before: each now gets its documented exit code, one stderr line, stdout holding only
what was really produced, and files as they were (or as completed) afterwards."""

from __future__ import annotations

import errno
import io
import json
import os
import time

import polars as pl
import pytest
from click.testing import CliRunner

from btcscan.cli import cli
from btcscan.data import cache
from btcscan.errors import ExitCode
from tests.conftest import REPO
from tests.exchange_server import DAY_MS
from tests.test_config import toml_table

SAMPLE = REPO / "btcscan" / "data" / "sample" / "bitstamp_btc-usd_1d.parquet"


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def one_error_line(res, *needles: str) -> str:
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("btcscan: error: "), res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


# --- a full disk while the cache is written ----------------------------------------------

@pytest.fixture
def behind(server, binance, tmp_path):
    """A cache five days behind the loopback exchange, which is on the real clock."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(toml_table({"timeout": 1000, "rateLimit": 0, "urls": binance["urls"]},
                              "exchanges.binance"))
    now = int(time.time() * 1000)
    server.now_ms = now - 5 * DAY_MS
    first = run("fetch", "BTC/USDT", "ETH/USDT", "--config", str(cfg),
                "--cache-dir", str(tmp_path / "c"))
    assert first.exit_code == 0, first.stderr
    server.now_ms = now
    files = {p: p.read_bytes() for p in (tmp_path / "c").rglob("*.parquet")}
    assert len(files) == 2
    return cfg, files


def full_disk(kind: str, only: str | None = None):
    """A parquet writer that writes a little, then fails as a full disk does."""
    real = pl.DataFrame.write_parquet

    def write(self, fh, *args, **kwargs):
        name = os.readlink(f"/proc/self/fd/{fh.fileno()}")  # the temporary file's path
        if only is not None and only not in name:
            return real(self, fh, *args, **kwargs)
        fh.write(b"PAR1 half")
        if kind == "compute":  # what polars raises on ENOSPC
            raise pl.exceptions.ComputeError("failed to write: No space left on device "
                                             "(os error 28)")
        raise OSError(errno.ENOSPC, "No space left on device")
    return write


@pytest.mark.parametrize("kind", ["compute", "oserror"])
def test_full_disk_on_fetch_exits_7_and_keeps_the_old_cache(behind, tmp_path, monkeypatch,
                                                          kind):
    cfg, files = behind
    monkeypatch.setattr(pl.DataFrame, "write_parquet", full_disk(kind))
    res = run("fetch", "ETH/USDT", "--config", str(cfg), "--cache-dir", str(tmp_path / "c"))
    assert res.exit_code == ExitCode.CACHE
    one_error_line(res, "ETH%2FUSDT_1d.parquet: cannot write the cache",
                   "No space left on device", "the old file is unchanged")
    assert res.stdout == ""
    assert {p: p.read_bytes() for p in files} == files  # byte-identical
    assert not list((tmp_path / "c").rglob("*.tmp"))  # no half-written temporary file


def test_full_disk_for_one_market_of_a_fetch_exits_9(behind, tmp_path, monkeypatch):
    cfg, files = behind
    monkeypatch.setattr(pl.DataFrame, "write_parquet", full_disk("compute", only="ETH"))
    res = run("fetch", "BTC/USDT", "ETH/USDT", "--config", str(cfg),
              "--cache-dir", str(tmp_path / "c"))
    assert res.exit_code == ExitCode.PARTIAL
    one_error_line(res, "ETH%2FUSDT_1d.parquet: cannot write the cache")
    eth = next(p for p in files if "ETH" in p.name)
    assert eth.read_bytes() == files[eth]
    btc = cache.load(tmp_path / "c", "binance", "BTC/USDT", "1d")
    before = files[next(p for p in files if "BTC" in p.name)]
    new = btc.height - pl.read_parquet(io.BytesIO(before)).height
    assert new >= 4  # five days behind: the closed ones since
    assert res.stdout.startswith("binance BTC/USDT 1d: ") and f"; {new} new" in res.stdout


def test_full_disk_on_a_live_scan_exits_7(behind, tmp_path, monkeypatch):
    cfg, files = behind
    monkeypatch.setattr(pl.DataFrame, "write_parquet", full_disk("compute"))
    res = run("scan", "ETH/USDT", "-t", "1d", "--format", "json", "--config", str(cfg),
              "--cache-dir", str(tmp_path / "c"))
    assert res.exit_code == ExitCode.CACHE
    one_error_line(res, "cannot write the cache")
    assert res.stdout == "" and {p: p.read_bytes() for p in files} == files


# --- the state file's folder cannot be written ----------------------------------------------

@pytest.mark.parametrize("new_only", [False, True])
def test_unwritable_state_folder_exits_7(tmp_path, monkeypatch, new_only):
    import filelock

    def refuse(self, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", self.lock_file)

    monkeypatch.setattr(filelock.FileLock, "acquire", refuse)
    state = tmp_path / "ro" / "state.json"
    res = run("scan", "--sample", "--state", str(state), "--format", "json",
              *(["--new-only"] if new_only else []))
    assert res.exit_code == ExitCode.CACHE
    one_error_line(res, f"{state}.lock", "Permission denied", "writable folder")
    assert not state.exists()
    if new_only:  # what is new cannot be known without the state: nothing is said
        assert res.stdout == ""
    else:  # the report does not depend on the state: it is printed, pure
        assert json.loads(res.stdout)["series"][0]["source"]["symbol"] == "BTC/USD"


# --- --chart into a path that cannot be written ---------------------------------------------

@pytest.mark.parametrize("where", ["under-a-file", "a-folder"])
def test_impossible_chart_path_is_refused_before_the_scan(tmp_path, where):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "dir.png").mkdir()
    path = tmp_path / ("file.txt/sub/c.png" if where == "under-a-file" else "dir.png")
    res = run("scan", "--sample", "--chart", str(path))
    assert res.exit_code == ExitCode.USAGE
    one_error_line(res, "--chart", "file, not a folder" if where == "under-a-file"
                   else "is a folder")
    assert res.stdout == ""
    assert (tmp_path / "file.txt").read_text() == "x" and not any((tmp_path / "dir.png").iterdir())


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_chart_that_fails_to_write_keeps_the_report_and_the_state(tmp_path, monkeypatch, fmt):
    from matplotlib.figure import Figure

    def no_space(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", no_space)
    state = tmp_path / "state.json"
    res = run("scan", "--sample", "--asof", "2025-11-16", "--chart", str(tmp_path / "c.png"),
              "--state", str(state), "--format", fmt, "--fail-on", "below-sma:50")
    assert res.exit_code == ExitCode.USAGE
    lines = res.stderr.strip().splitlines()
    # json: the verdict is said once on stderr (the table shows it itself), then the error
    assert [ln.split(" (bundled")[0] for ln in lines[:-1]] == (
        ["btcscan: condition met: below-sma:50 on bitstamp:BTC/USD"] if fmt == "json" else [])
    assert lines[-1] == (f"btcscan: error: --chart {tmp_path / 'c.png'}: cannot write it (No "
                         "space left on device); the scan's output is unaffected")
    if fmt == "json":
        doc = json.loads(res.stdout)  # the whole report, pure
        assert doc["series"][0]["source"]["symbol"] == "BTC/USD"
        assert doc["conditions"][0]["holds"] is True
    else:
        assert "HOLDS  below-sma:50" in res.stdout and "Alerts" in res.stdout
    assert json.loads(state.read_text())["reported"]  # the signals were recorded
    assert not (tmp_path / "c.png").exists()


# --- files that are not what they claim -----------------------------------------------------

def test_non_utf8_config_exits_8(tmp_path):
    p = tmp_path / "latin1.toml"
    p.write_bytes('[scan]\ntimeframe = "1w" # semaine d\xe9but\n'.encode("latin-1"))
    res = run("scan", "--sample", "--config", str(p))
    assert res.exit_code == ExitCode.CONFIG
    one_error_line(res, str(p), "not UTF-8")
    assert res.stdout == ""


def test_non_utf8_symbols_file_exits_2(tmp_path):
    p = tmp_path / "m.txt"
    p.write_bytes(b"BTC/USDT # \xe9\xff\n")
    res = run("scan", "--sample", "--symbols-file", str(p))
    assert res.exit_code == ExitCode.USAGE
    one_error_line(res, str(p), "not UTF-8")
    assert res.stdout == ""


def test_deeply_nested_toml_exits_8(tmp_path):
    p = tmp_path / "deep.toml"
    p.write_text("[watchlist]\nmarkets = " + "[" * 5000 + "]" * 5000 + "\n")
    res = run("config", "show", "--config", str(p))
    assert res.exit_code == ExitCode.CONFIG
    one_error_line(res, str(p), "nested too deeply")
    assert res.stdout == ""


@pytest.mark.parametrize("column", ["open", "timestamp"])
def test_list_typed_parquet_column_exits_4(tmp_path, column):
    base = pl.read_parquet(SAMPLE).head(50).with_columns(
        pl.col("open_time").dt.epoch("ms").alias("timestamp")).drop("open_time")
    bad = base.with_columns(pl.col(column).map_elements(lambda v: [v], return_dtype=pl.List(
        base.schema[column])))
    p = tmp_path / "listy.parquet"
    bad.write_parquet(p)
    res = run("scan", "--from-file", str(p), "-t", "1d", "--format", "json")
    assert res.exit_code == ExitCode.DATA
    one_error_line(res, str(p), "List(")
    assert res.stdout == ""


@pytest.mark.parametrize("asof", ["9999-12-31", "9999-12-31T23:59:59Z"])
def test_asof_at_the_end_of_the_calendar_is_after_the_data(asof):
    res = run("scan", "--sample", "--asof", asof, "--format", "json")
    assert res.exit_code == ExitCode.DATA
    one_error_line(res, "is after the data ends")
    assert res.stdout == ""


def test_stats_chart_that_fails_to_write_keeps_the_table(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def no_space(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", no_space)
    res = run("stats", "--sample", "--format", "json", "--chart", str(tmp_path / "s.png"))
    assert res.exit_code == ExitCode.USAGE
    one_error_line(res, f"--chart {tmp_path / 's.png'}: cannot write it")
    assert json.loads(res.stdout)["series"]  # the whole stats document came first
    assert not (tmp_path / "s.png").exists()


def test_stats_impossible_chart_path_and_bad_pattern_param_exit_2(tmp_path):
    (tmp_path / "f").write_text("x")
    res = run("stats", "--sample", "--chart", str(tmp_path / "f" / "s.png"))
    assert res.exit_code == ExitCode.USAGE and res.stdout == ""
    one_error_line(res, "is a file, not a folder")
    res = run("stats", "--sample", "--pattern-param", "touch_tolerance_atr=inf")
    assert res.exit_code == ExitCode.USAGE and res.stdout == ""
    one_error_line(res, "touch_tolerance_atr", "finite")
