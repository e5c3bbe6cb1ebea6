"""Signals from hand-built pattern-engine results: kinds, the candle that made each one
knowable, stable keys, CSV rows, and --new-only bookkeeping through run_alerts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from btcscan.alerts.delivery import run_alerts
from btcscan.alerts.signals import signals_of
from btcscan.models import ScanResult
from btcscan.render.serial import write_csv
from tests.pattern_fakes import (
    KNOWN_CLOSE,
    STATE_CLOSE,
    bar_ms,
    divergence,
    pattern_report,
    report_with,
    wedge,
)


def _t(bar: int) -> datetime:
    return datetime.fromtimestamp(bar_ms(bar) / 1000, tz=UTC)


def _report():
    p = pattern_report(
        last_bar=100,
        wedges=(wedge("rising", "broke_down", state_at_bar=99),
                wedge("falling", "forming", state_at_bar=95, start=70, end=95),
                wedge("falling", "expired", state_at_bar=97, start=50, end=80)),
        divergences=(divergence("regular_bullish", known_at_bar=100),
                     divergence("hidden_bearish", known_at_bar=98)))
    return report_with(p)


def test_pattern_signals():
    r = _report()
    w_brk, w_form = r.patterns.wedges[:2]
    sig = [s for s in signals_of(r) if not s.kind.endswith("-sma")]
    assert [(s.kind, s.time) for s in sig] == [
        ("wedge-formed", _t(95)),  # a forming wedge: known at its last pivot's confirmation
        ("hidden-bearish-divergence", _t(98)),
        ("wedge-breakdown", _t(99)),  # the candle whose close broke the lower line
        ("bullish-divergence", _t(100)),
    ]  # the expired wedge is no signal
    brk = sig[2]
    assert "target 50,000 (lowest valley of the pattern (Bulkowski))" in brk.detail
    assert "invalidation 67,200" in brk.detail
    # price: the close of the candle that made each signal known; trigger_level: the level
    assert (brk.price, brk.trigger_level) == (STATE_CLOSE, w_brk.lower.value_at(99))
    formed = sig[0]
    assert (formed.price, formed.trigger_level) == (KNOWN_CLOSE, w_form.upper.value_at(95))
    div = sig[3]
    assert (div.price, div.trigger_level) == (KNOWN_CLOSE, 49_000.0)
    assert "RSI 28.0 -> 33.0" in div.detail
    # a later scan (one more candle) sees the same facts with the same keys
    later = report_with(pattern_report(
        last_bar=101, wedges=(wedge("rising", "broke_down", state_at_bar=99, last_bar=101),),
        divergences=(divergence("regular_bullish", known_at_bar=100),)))
    assert {s.key for s in signals_of(later) if not s.kind.endswith("-sma")} == \
        {brk.key, div.key}


def test_csv_rows_for_pattern_signals():
    r = _report()
    sig = signals_of(r)
    buf = io.StringIO()
    write_csv(ScanResult(series=(r,)), buf, sig)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert [row["signal"] for row in rows] == [s.kind for s in sig]
    assert rows[-1]["time"] == _t(100).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (rows[-1]["price"], rows[-1]["trigger_level"]) == ("55500.0", "49000.0")


def test_run_alerts_new_only_with_pattern_signals(tmp_path):
    sig = signals_of(_report())
    shown: list[tuple] = []
    state = str(tmp_path / "s.json")
    assert run_alerts(sig, shown.append, state=state, new_only=True) == []
    assert run_alerts(sig, shown.append, state=state, new_only=True) == []
    assert shown == [sig, ()]
    one_more = signals_of(report_with(pattern_report(
        last_bar=101, divergences=(divergence("regular_bearish", known_at_bar=101),))))
    run_alerts(sig + one_more, shown.append, state=state, new_only=True)
    assert [s.kind for s in shown[-1] if not s.kind.endswith("-sma")] == ["bearish-divergence"]
