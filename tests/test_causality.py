"""Causality by replay: what a scan of the first t+1 candles reports never changes later.

For each prefix ``[0..t]`` of the bundled BTC history, the events reported must be exactly
the events of the full-history scan that were known at or before ``t`` -- none changed,
none appearing retroactively.
"""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from btcscan.kernels import trendlines as tl
from btcscan.kernels.divergence import divergences
from btcscan.kernels.pivots import zigzag
from btcscan.kernels.rolling import atr, rsi
from btcscan.patterns import PatternParams, detect_patterns

ROOT = Path(__file__).parents[1] / "btcscan"


def _prefix(arrays, t):
    return {k: v[:t + 1] for k, v in arrays.items()}


def _replay(arrays, params, bars):
    full = detect_patterns(arrays, params).events
    checked = 0
    for t in bars:
        got = detect_patterns(_prefix(arrays, t), params).events
        want = tuple(e for e in full if e.known_at_bar <= t)
        assert got == want, f"prefix ending at bar {t}"
        checked += len(got)
    return checked


def test_weekly_every_prefix(btc_weekly):
    n = btc_weekly["close"].size
    assert _replay(btc_weekly, PatternParams(), range(n)) > 0


def test_weekly_every_prefix_hidden_and_loose_wedges(btc_weekly):
    p = PatternParams(include_hidden=True, touch_tolerance_atr=0.5, min_height_atr=2.0,
                      min_line_move_atr=0.0, pivot_left=3, pivot_right=3)
    full = detect_patterns(btc_weekly, p)
    assert full.wedges  # the loose settings find wedges on weekly data, so states are replayed
    _replay(btc_weekly, p, range(btc_weekly["close"].size))


def test_daily_every_prefix(btc_daily):
    n = btc_daily["close"].size
    _replay(btc_daily, PatternParams(include_hidden=True), range(n))


def test_daily_every_prefix_kernel_records(btc_daily):
    """Every prefix of the daily history, at kernel level (fast): wedge records known by t
    are identical in the full run, states resolved by t too; divergence records likewise."""
    h, lo, c = btc_daily["high"], btc_daily["low"], btc_daily["close"]
    a_full = atr(h, lo, c, 14)
    r_full = rsi(c, 14)
    p = PatternParams(touch_tolerance_atr=0.5, min_height_atr=2.0, include_hidden=True)
    log_full = zigzag(h, lo, a_full, 5, 5, 1.0)
    full = tl.scan_wedges(c, a_full, log_full, p)
    assert len(full) > 10
    dv_full = divergences(r_full, h, lo, p)
    n = c.size
    for t in range(30, n):
        a = atr(h[:t + 1], lo[:t + 1], c[:t + 1], 14)
        assert np.array_equal(a, a_full[:t + 1], equal_nan=True)
        log = zigzag(h[:t + 1], lo[:t + 1], a, 5, 5, 1.0)
        rec = tl.scan_wedges(c[:t + 1], a, log, p)
        k = int((full["known"] <= t).sum())
        assert len(rec) == k
        # everything but the state is fixed when the wedge becomes known
        for name in rec.dtype.names:
            if name not in ("state", "state_bar"):
                assert np.array_equal(rec[name], full[name][:k]), name
        for row, frow in zip(rec, full[:k], strict=True):
            if row["state"] != tl.STATE_FORMING:
                assert row["state"] == frow["state"]
                assert row["state_bar"] == frow["state_bar"]
            else:
                assert frow["state"] == tl.STATE_FORMING or frow["state_bar"] > t
        dv = divergences(rsi(c[:t + 1], 14), h[:t + 1], lo[:t + 1], p)
        assert dv.tobytes() == dv_full[dv_full["known"] <= t].tobytes()


def test_no_lookahead_constructs_in_sources():
    bad = re.compile(r"shift\(\s*-|center\s*=\s*True|centered|\.shift\(-")
    for path in [*ROOT.joinpath("kernels").glob("*.py"), *ROOT.joinpath("patterns").glob("*.py")]:
        assert not bad.search(path.read_text()), path


def test_import_loads_no_ui_or_network_libraries():
    code = ("import sys, btcscan.patterns, btcscan.kernels.pivots; "
            "print([m for m in ('polars', 'rich', 'click', 'ccxt') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
