"""The many-market summary table is scanned the lean way (``api.scan_one(detail=False)``:
no walk-forward stats lines, no long-run context) and prints exactly what full reports
print: the table, its order, the alerts and the ``--fail-on`` verdicts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from btcscan import api
from btcscan.alerts.conditions import evaluate, parse_conditions, sma_periods_needed
from btcscan.alerts.signals import alerts_of
from btcscan.cli import cli
from btcscan.data.files import read_parquet_many
from btcscan.data.sample import load_sample
from btcscan.settings import ScanSettings
from btcscan.timeframes import parse_timeframe

MARKETS = ("BTC/USD", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", "ADA/USDT")
#: every condition that reads the report (near-level reads the ladder's sources)
FAIL_ON = ("near-level:5,below-sma:50,crossed-above-sma:20,drawdown:30,rsi-below:45,"
           "bullish-divergence:30,bearish-divergence:30,wedge-breakout:30,wedge-breakdown:30")


def _run(args: list[str], monkeypatch, detail_seen: list[bool], force_full: bool) -> str:
    real = api.scan_one

    def spy(*a, detail: bool = True, **kw):
        detail_seen.append(detail)
        return real(*a, detail=True if force_full else detail, **kw)

    monkeypatch.setattr(api, "scan_one", spy)
    r = CliRunner().invoke(cli, args, catch_exceptions=False)
    monkeypatch.setattr(api, "scan_one", real)
    assert r.exit_code in (0, 3), r.output
    return r.output


@pytest.mark.parametrize(("tf", "asof"), [("1d", "2021-11-10"), ("1w", "2025-11-04"),
                                          ("1d", None)])
def test_watchlist_summary_lean_equals_full(monkeypatch, tf, asof):
    args = ["scan", *[f"sample:{m}" for m in MARKETS], "-t", tf, "--fail-on", FAIL_ON,
            *(["--asof", asof] if asof else [])]
    lean_calls: list[bool] = []
    lean = _run(args, monkeypatch, lean_calls, force_full=False)
    full = _run(args, monkeypatch, [], force_full=True)
    assert lean_calls == [False] * len(MARKETS)  # the CLI took the lean path
    assert lean == full
    assert "Alerts:" in lean and "Conditions (--fail-on)" in lean


def test_files_summary_lean_equals_full(monkeypatch, tmp_path):
    paths = []
    for m in MARKETS:
        p = tmp_path / f"{m.replace('/', '')}.parquet"
        load_sample(m).frame.write_parquet(p)
        paths.append(str(p))
    args = ["scan", "--from-file", str(tmp_path / "*.parquet"), "-t", "1w", "--fail-on",
            FAIL_ON, "--power-law"]
    lean_calls: list[bool] = []
    lean = _run(args, monkeypatch, lean_calls, force_full=False)
    full = _run(args, monkeypatch, [], force_full=True)
    assert lean_calls == [False] * len(MARKETS)
    assert lean == full


def test_other_views_get_full_reports(monkeypatch):
    markets = [f"sample:{m}" for m in MARKETS[:2]]
    for extra in (["--detail"], ["--format", "json"], ["--format", "ndjson"],
                  ["--format", "csv"]):
        seen: list[bool] = []
        _run(["scan", *markets, "-t", "1w", *extra], monkeypatch, seen, force_full=False)
        assert seen == [True, True], extra
    seen = []
    _run(["scan", "--sample", "-t", "1w"], monkeypatch, seen, force_full=False)
    assert seen == [True]  # one market: its full report is printed


def test_lean_report_is_the_full_one_without_stats_and_context():
    tf = parse_timeframe("1w")
    conds = parse_conditions(FAIL_ON)
    base = ScanSettings(timeframe="1w")
    settings = replace(base, sma_periods=tuple(sorted({*base.sma_periods,
                                                       *sma_periods_needed(conds)})))
    for m in MARKETS:
        c = load_sample(m)
        for asof in (api.parse_asof("2021-11-10"), None):
            full = api.scan_one(c, tf, asof, settings)
            lean = api.scan_one(c, tf, asof, settings, detail=False)
            assert lean.stats is None and lean.context is None
            assert lean == type(full)(**{**full.__dict__, "stats": None, "context": None})
            assert alerts_of(lean) == alerts_of(full)
            assert evaluate(conds, (lean,)) == evaluate(conds, (full,))


def test_scan_sources_reads_a_chunk_at_a_time():
    """The files' batch driver: chunks of any size give the reports of one scan of all."""
    refs = api.source_refs(sample=True, symbols=MARKETS)
    whole = api.scan_candles(api.load_refs(refs), timeframe="1w")
    held: list[int] = []
    for chunk in (1, 4, 64):
        got = api.scan_sources(refs, timeframe="1w", chunk=chunk,
                               on_series=lambda c, r: held.append(c.frame.height))
        assert got == whole
    assert len(held) == 3 * len(MARKETS)
    assert np.all(np.array(held) > 0)


def test_scan_sources_raises_the_first_bad_source(tmp_path):
    bad = tmp_path / "bad.parquet"
    pl.DataFrame({"x": [1]}).write_parquet(bad)
    refs = api.source_refs(sample=True, symbols=MARKETS[:2], files=[str(bad)])
    with pytest.raises(api.DataError, match="missing column"):
        api.scan_sources(refs, timeframe="1w", chunk=1)


def _same(a, b) -> bool:
    return (a.frame.equals(b.frame) and a.timeframe == b.timeframe and a.source == b.source
            and a.notes == b.notes and a.warnings == b.warnings)


def test_parquet_files_read_in_one_scan_equal_files_read_alone(tmp_path):
    from pathlib import Path

    paths = []
    for m in MARKETS[:3]:
        p = tmp_path / f"{m.replace('/', '')}.parquet"
        load_sample(m).frame.write_parquet(p)
        paths.append(str(p))
    refs = api.source_refs(files=paths)
    tables = read_parquet_many([r.path for r in refs])
    assert len(tables) == 3  # one scan
    for got, path in zip(api.load_refs(refs), paths, strict=True):
        assert _same(got, api.load_file(Path(path)))
    # another layout (seconds, other names, unsorted): each file is read alone
    odd = tmp_path / "odd.parquet"
    f = load_sample(MARKETS[0]).frame
    pl.DataFrame({"timestamp": f["open_time"].dt.epoch("s"), "o": f["open"], "h": f["high"],
                  "l": f["low"], "c": f["close"]}).reverse().write_parquet(odd)
    refs = api.source_refs(files=[*paths, str(odd)])
    assert read_parquet_many([r.path for r in refs]) == {}
    for got, path in zip(api.load_refs(refs), [*paths, str(odd)], strict=True):
        assert _same(got, api.load_file(Path(path)))


def test_a_canonical_parquet_file_reads_as_the_same_data_under_other_names(tmp_path):
    from pathlib import Path

    f = load_sample(MARKETS[1]).frame
    canon, other = tmp_path / "canon.parquet", tmp_path / "other.parquet"
    f.write_parquet(canon)
    f.rename({"open_time": "Timestamp", "open": "Open", "high": "High", "low": "Low",
              "close": "Close", "volume": "Volume"}).write_parquet(other)
    a, b = api.load_file(Path(canon)), api.load_file(Path(other))
    assert a.frame.equals(b.frame) and a.timeframe == b.timeframe and a.notes == b.notes


@pytest.mark.parametrize("width", [40, 80, 81, 160])
def test_alert_lines_print_as_one_hanging_grid_each(width):
    """render_alerts prints its lines in one call, a fitting line as plain text: the same
    text as one hanging grid printed per line."""
    import io
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.text import Text

    from btcscan.models import Signal
    from btcscan.render.table import hang, render_alerts, when

    t = datetime(2025, 6, 30, tzinfo=UTC)
    details = ["short", "x" * 60, "y" * 200, "a " * 70, "wide 字字字 " * 12, "z" * (width - 40)]
    signals = tuple(Signal(market="m", symbol="BTC/USD", timeframe="1d", kind="k", time=t,
                           price=1.0, detail=d, key=str(i)) for i, d in enumerate(details))
    for term in (False, True):
        got, want = io.StringIO(), io.StringIO()
        render_alerts(signals, (), False, Console(file=got, width=width, force_terminal=term,
                                                  highlight=False))
        c = Console(file=want, width=width, force_terminal=term, highlight=False)
        c.print(Text("Alerts: signals on recent closed candles", style="bold"))
        for s in signals:
            c.print(hang(f"{when(s.time)}  {s.symbol} {s.timeframe}  {s.kind}: {s.detail}",
                         prefix="  "))
        assert got.getvalue() == want.getvalue()


@pytest.mark.parametrize("enabled", [True, False])
def test_scan_each_pauses_the_garbage_collector_and_a_lean_scan_leaves_no_cycle(enabled):
    """scan_each pauses the cyclic collector (restoring its state) because a lean scan
    makes no reference cycle for it to find."""
    import gc

    series = [load_sample(m) for m in MARKETS]
    tf, settings = parse_timeframe("1d"), ScanSettings(timeframe="1d")
    seen: list[bool] = []
    real = api.scan_one

    def spy(*a, **kw):
        seen.append(gc.isenabled())
        return real(*a, **kw)

    api.scan_each(series[:1], tf, None, settings, detail=False)  # loads, caches: not the scan's
    gc.collect()
    (gc.enable if enabled else gc.disable)()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(api, "scan_one", spy)
            reports = api.scan_each(series, tf, None, settings, detail=False)
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
    assert seen == [False] * len(MARKETS)
    assert all(r.patterns is not None for r in reports)
    del reports
    assert gc.collect() == 0  # nothing the paused collector would have found
