"""The scan's stats lines score only the kinds of its active signals (issue #6): each figure
must equal the one the full walk-forward (``series_stats``, what ``btcscan stats`` prints)
gives over the same candles, and ``events_scored`` must still count every past event. Of
the tests against chance a scan carries the one its line reads (issue #15), equal to
``series_stats``'s."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from btcscan.analysis.levels import sma_state
from btcscan.data.schema import Source
from btcscan.kernels.rolling import sma
from btcscan.patterns import PatternParams, detect_patterns
from btcscan.stats import rules
from btcscan.stats.compute import aggregate, kind_stats, series_stats
from btcscan.stats.run import scan_signal_stats, signal_lines
from btcscan.stats.types import ScanStats
from btcscan.timeframes import parse_timeframe
from tests.synth import make_wedge, random_walk

ALL_KINDS = tuple(rules.KIND_LABELS) + tuple(f"sma{p}_{what}" for p in (20, 200)
                                            for what in ("break", "reclaim"))


def _scan_view(k):
    """A kind as a scan carries it: only the test against chance its line reads (the
    first, ``reached_target``), else the same figures."""
    assert not k.chance or k.chance[0].measure == "reached_target"
    return replace(k, chance=k.chance[:1])


def _full(arrays, report, horizon, periods):
    return series_stats(arrays, report, market="m", symbol="X/USD", timeframe="1d",
                        tf_label="daily", horizon=horizon, sma_periods=periods)


def _series():
    rng = np.random.default_rng(11)
    out = [random_walk(rng, n, vol) for n, vol in ((300, 0.02), (700, 0.04), (1200, 0.015))]
    out += [make_wedge(rng, kind, brk).arrays for kind, brk in
            (("falling", "up"), ("rising", "down"), ("falling", "down"), ("rising", "up"))]
    return out


@pytest.mark.parametrize("horizon", [5, 52, 90])
@pytest.mark.parametrize("periods", [(50, 100), (20, 200), ()])
def test_kind_stats_equal_series_stats_on_the_bundled_history(btc_daily, horizon, periods):
    report = detect_patterns(btc_daily, PatternParams(include_hidden=True))
    full = _full(btc_daily, report, horizon, periods)
    by = {k.kind: k for k in full.kinds}
    got, total = kind_stats(btc_daily, report, ALL_KINDS, horizon=horizon, sma_periods=periods)
    assert total == len(full.events)
    assert set(got) == set(ALL_KINDS)
    for kind in ALL_KINDS:
        assert got[kind] == _scan_view(by.get(kind, aggregate(kind, ()))), kind
    # the bundled history has events of most kinds: the comparison is not vacuous
    assert sum(k.events for k in got.values()) == len(full.events)
    assert len([k for k in got.values() if k.resolved]) >= 8


def test_kind_stats_equal_series_stats_on_random_and_wedge_series():
    for arrays in _series():
        report = detect_patterns(arrays, PatternParams(include_hidden=True))
        for horizon in (3, 40):
            full = _full(arrays, report, horizon, (50, 100))
            by = {k.kind: k for k in full.kinds}
            # one kind at a time, as a scan asks, and every kind at once
            for kinds in [(k,) for k in ALL_KINDS] + [ALL_KINDS]:
                got, total = kind_stats(arrays, report, kinds, horizon=horizon,
                                        sma_periods=(50, 100))
                assert total == len(full.events)
                for kind in kinds:
                    assert got[kind] == _scan_view(by.get(kind, aggregate(kind, ()))), kind


def test_wedge_targets_keep_their_rule_order(btc_daily):
    report = detect_patterns(btc_daily, PatternParams(include_hidden=True))
    full = _full(btc_daily, report, 90, (50, 100))
    wedge_kinds = [k for k in full.kinds if k.kind.startswith("wedge_") and len(k.targets) > 1]
    assert wedge_kinds  # the daily history has broken wedges with two target rules
    got, _ = kind_stats(btc_daily, report, [k.kind for k in wedge_kinds], horizon=90,
                        sma_periods=(50, 100))
    for k in wedge_kinds:
        assert got[k.kind].targets == k.targets


def _reference_scan_stats(arrays, report, smas, source, tf, periods, horizon):
    """scan_signal_stats as it was before issue #6: every kind scored, then the lines."""
    kinds = []
    for w in report.active_wedges:
        if w.state in ("broke_up", "broke_down"):
            sig = "wedge-breakout" if w.state == "broke_up" else "wedge-breakdown"
            kinds.append((sig, f"wedge_{w.kind}_{w.state}"))
    from btcscan.stats.active import SIGNAL_OF_DIVERGENCE

    for d in report.active_divergences:
        kinds.append((SIGNAL_OF_DIVERGENCE[d.kind], f"divergence_{d.kind}"))
    for st in smas:
        if st.state in ("crossed_below", "crossed_above"):
            what = "break" if st.state == "crossed_below" else "reclaim"
            kinds.append((f"{st.state.replace('_', '-')}-sma:{st.period}",
                          f"sma{st.period}_{what}"))
    if not kinds:
        return None
    s = series_stats(arrays, report, market=source.label, symbol=source.symbol,
                     timeframe=tf.text, tf_label=tf.label(), horizon=horizon, sma_periods=periods)
    s = replace(s, kinds=tuple(_scan_view(k) for k in s.kinds))
    return ScanStats(source=s.source, horizon_bars=horizon, events_scored=len(s.events),
                     lines=signal_lines(s, kinds, tf.label(), rules.unit_of(tf)))


def test_scan_signal_stats_equal_the_full_path_at_many_cut_points(btc_daily):
    """Cut the bundled history at many days (each a scan as of that day): whenever a signal
    is active, the lines and events_scored equal those of scoring every kind."""
    tf = parse_timeframe("1d")
    src = Source(kind="sample", symbol="BTC/USD")
    params = PatternParams(recent_bars=3, include_hidden=True)
    periods = (50, 100)
    active = 0
    for end in range(400, btc_daily["close"].size + 1, 37):
        a = {k: v[:end] for k, v in btc_daily.items()}
        report = detect_patterns(a, params)
        close = a["close"]
        smas = [sma_state(close, sma(close, p), p, float(close[-1]), "daily") for p in periods]
        got = scan_signal_stats(a, report, smas, src, tf, periods, 90)
        want = _reference_scan_stats(a, report, smas, src, tf, periods, 90)
        assert got == want, end
        active += got is not None
    assert active >= 5  # enough cut points had an active signal to compare lines


def test_a_scan_with_no_active_signal_does_not_load_the_scoring_code():
    """The weekly sample has no active signal today (its report says so): no stats line is
    due, so the walk-forward scoring modules stay unloaded (every plain run's start)."""
    import json
    import subprocess
    import sys

    code = ("import sys, json\nfrom click.testing import CliRunner\n"
            "from btcscan.cli import cli\n"
            "r = CliRunner().invoke(cli, ['scan', '--sample', '--format', 'json'])\n"
            "doc = json.loads(r.stdout)\n"
            "print(json.dumps({'stats': doc['series'][0].get('stats'),\n"
            "                  'loaded': [m for m in ('btcscan.stats.run', 'btcscan.stats.compute',"
            " 'btcscan.kernels.outcomes') if m in sys.modules]}))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, check=True)
    got = json.loads(p.stdout)
    assert got["stats"] is None
    assert got["loaded"] == []
