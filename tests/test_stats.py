"""Walk-forward statistics (issue #7) against a naive recomputation from the same events and
candles, hand-made edge cases, and history-shift proofs that only later candles are read."""

from __future__ import annotations

import math
import statistics
from dataclasses import replace

import numpy as np
import pytest

from btcscan.patterns import PatternParams, detect_patterns
from btcscan.patterns.types import Divergence
from btcscan.stats.compute import aggregate, score_rows, series_stats
from btcscan.stats.rules import EventRow, divergence_rows, sma_rows
from tests.reference import atr_ref, score_ref, sma_ref

NAN = math.nan
STATUS = {0: "open", 1: "reached_target", 2: "invalidated", 3: "expired"}


# -- naive twin: rows from the engine's events and the candles, in plain Python -------------

def naive_rows(report, h, lo, c):
    """(kind, direction, bar, [target prices], invalidation, judged on close) per event,
    written from the rules in docs/stats.md without the library's helpers."""
    h, lo, c = list(h), list(lo), list(c)
    rows = []
    for w in report.wedges:
        if w.state not in ("broke_up", "broke_down"):
            continue
        d = 1 if w.state == "broke_up" else -1
        s = w.state_at_bar
        tg = [t.price for t in w.targets if t.kind == "target"
              and (t.price > c[s] if d > 0 else t.price < c[s])]
        inv = [t.price for t in w.targets if t.kind == "invalidation"]
        rows.append((f"wedge_{w.kind}_{w.state}", d, s, tg, inv[0] if inv else NAN, True))
    for v in report.divergences:
        d = -1 if v.kind.endswith("bearish") else 1
        span = range(v.first_bar, v.second_bar + 1)
        t = min(lo[i] for i in span) if d < 0 else max(h[i] for i in span)
        e = c[v.known_at_bar]
        rows.append((f"divergence_{v.kind}", d, v.known_at_bar,
                     [t] if (t > e if d > 0 else t < e) else [], v.second_price, False))
    a = atr_ref(h, lo, c, 14)
    for p in (50, 100):
        s = sma_ref(c, p)
        for i in range(1, len(c)):
            if math.isnan(s[i]) or math.isnan(s[i - 1]) or math.isnan(a[i]):
                continue
            was, now = c[i - 1] >= s[i - 1], c[i] >= s[i]
            if was == now:
                continue
            d = 1 if now else -1
            rows.append((f"sma{p}_{'reclaim' if d > 0 else 'break'}", d, i,
                         [c[i] + d * 2 * a[i]], s[i] - d * a[i], True))
    return rows


def naive_stats(rows, h, lo, c, horizon):
    out = {}
    for kind, d, bar, tg, inv, on_close in rows:
        targets = (tg + [NAN, NAN])[:2]
        r = score_ref(list(h), list(lo), list(c), bar, d, targets, inv, horizon,
                      on_close=on_close)
        k = out.setdefault(kind, {"events": 0, "open": 0, "reached": 0, "invalidated": 0,
                                  "expired": 0, "failed": 0, "mae": [], "bars": []})
        k["events"] += 1
        status = STATUS[r["status"]]
        if status == "open":
            k["open"] += 1
            continue
        k[{"reached_target": "reached"}.get(status, status)] += 1
        k["failed"] += r["failed"]
        k["mae"].append(r["mae_pct"])
        if status == "reached_target":
            k["bars"].append(r["target_bar"][0] - bar)
    return out


@pytest.mark.parametrize("which,horizon", [("btc_weekly", 52), ("btc_daily", 90),
                                           ("btc_daily", 20)])
def test_series_stats_match_naive_recomputation(which, horizon, request):
    arrays = request.getfixturevalue(which)
    h, lo, c = arrays["high"], arrays["low"], arrays["close"]
    report = detect_patterns(arrays, PatternParams(include_hidden=True))
    got = series_stats(arrays, report, market="m", symbol="BTC/USD", timeframe="1d",
                       tf_label="daily", horizon=horizon)
    want = naive_stats(naive_rows(report, h, lo, c), h, lo, c, horizon)
    assert {k.kind for k in got.kinds} == set(want)
    assert len(got.events) == sum(k["events"] for k in want.values())
    for k in got.kinds:
        w = want[k.kind]
        assert (k.events, k.open, k.reached_first_target, k.invalidated, k.expired, k.failed) == (
            w["events"], w["open"], w["reached"], w["invalidated"], w["expired"], w["failed"]
        ), k.kind
        assert k.median_mae_pct == (pytest.approx(statistics.median(w["mae"])) if w["mae"]
                                    else None)
        assert k.worst_mae_pct == (pytest.approx(min(w["mae"])) if w["mae"] else None)
        assert k.median_bars_to_target == (statistics.median(w["bars"]) if w["bars"] else None)


def test_daily_history_has_every_kind_of_event(btc_daily):
    report = detect_patterns(btc_daily, PatternParams(include_hidden=True))
    s = series_stats(btc_daily, report, market="m", symbol="BTC/USD", timeframe="1d",
                     tf_label="daily", horizon=90)
    kinds = {k.kind for k in s.kinds}
    assert {"wedge_falling_broke_up", "wedge_rising_broke_down", "divergence_regular_bearish",
            "divergence_hidden_bullish", "sma50_break", "sma100_reclaim"} <= kinds
    # every scored event's entry is the close of its known_at candle, after the pivots/lines
    for e in s.events:
        assert e.entry == btc_daily["close"][e.known_at_bar]
        assert e.known_at_ms == btc_daily["open_time"][e.known_at_bar]
        for t in e.targets:
            assert (t.price > e.entry) if e.direction == "long" else (t.price < e.entry)


# -- hand-made rules -------------------------------------------------------------------------

def _div(kind, a, b, price, known):
    return Divergence(kind=kind, first_bar=a, first_ms=0, first_price=0.0, first_rsi=60.0,
                      second_bar=b, second_ms=0, second_price=price, second_rsi=50.0,
                      known_at_bar=known, known_at_ms=0)


class _Report:
    def __init__(self, divs=(), wedges=()):
        self.divergences, self.wedges = divs, wedges


def test_bearish_divergence_targets_the_low_between_pivots_and_dies_above_second_high():
    c = np.array([100, 104, 98, 95, 99, 106, 103, 101, 97, 90], dtype=float)
    h, lo = c + 1, c - 1
    (row,) = divergence_rows(_Report([_div("regular_bearish", 1, 5, 107.0, 7)]), h, lo, c)
    assert (row.direction, row.bar, row.invalidation) == (-1, 7, 107.0)
    assert [t[0] for t in row.targets] == [94.0]  # lowest low of bars 1..5 (95 - 1)
    (e,) = score_rows([row], h, lo, c, horizon=5)
    assert (e.outcome, e.outcome_bar, e.bars_to_outcome) == ("reached_target", 9, 2)
    assert e.mfe_pct == pytest.approx((1 - 89 / 101) * 100)


def test_bullish_divergence_target_already_passed_is_dropped():
    c = np.array([100, 96, 99, 97, 94, 101, 102], dtype=float)
    h, lo = c + 0.5, c - 0.5
    (row,) = divergence_rows(_Report([_div("hidden_bullish", 1, 4, 93.5, 5)]), h, lo, c)
    assert row.targets == ()  # highest high 1..4 is 100.5, below the 101 entry
    (e,) = score_rows([row], h, lo, c, horizon=10)
    assert e.outcome == "open" and e.targets == ()


def test_sma_break_and_reclaim_rows():
    c = np.concatenate([np.full(60, 100.0), [90.0, 91.0], np.full(5, 120.0)])
    h, lo = c + 2, c - 2
    rows = sma_rows(h, lo, c, periods=(50,))
    assert [(r.kind, r.bar, r.direction) for r in rows] == [("sma50_break", 60, -1),
                                                            ("sma50_reclaim", 62, 1)]
    a = atr_ref(list(h), list(lo), list(c), 14)
    s = sma_ref(list(c), 50)
    assert rows[0].targets[0][0] == pytest.approx(90.0 - 2 * a[60])
    assert rows[0].invalidation == pytest.approx(s[60] + a[60])
    assert rows[1].targets[0][0] == pytest.approx(120.0 + 2 * a[62])
    assert all(r.on_close for r in rows)  # a break is a close; so is its undoing


def test_same_candle_target_and_invalidation_counts_invalidation():
    c = np.array([100.0, 100.0, 100.0])
    h = np.array([100.5, 112.0, 100.5])
    lo = np.array([99.5, 88.0, 99.5])
    row = EventRow("x", 1, 0, ((110.0, "t", "t"),), 90.0, "inv", "")
    (e,) = score_rows([row], h, lo, c, horizon=5)
    assert (e.outcome, e.outcome_bar, e.targets[0].reached_bar) == ("invalidated", 1, None)


def test_events_at_the_end_are_open_and_counted_apart():
    c = np.array([100.0, 101, 102, 103, 104])
    h, lo = c + 0.1, c - 0.1
    rows = [EventRow("x", 1, 0, ((103.0, "t", "t"),), 90.0, "inv", ""),  # reaches at bar 3
            EventRow("x", 1, 3, ((200.0, "t", "t"),), 90.0, "inv", ""),  # horizon past the end
            EventRow("x", 1, 4, ((200.0, "t", "t"),), 90.0, "inv", "")]  # last candle
    ev = score_rows(rows, h, lo, c, horizon=3)
    assert [e.outcome for e in ev] == ["reached_target", "open", "open"]
    k = aggregate("x", ev)
    assert (k.events, k.open, k.resolved, k.reached_first_target) == (3, 2, 1, 1)
    assert k.median_bars_to_target == 3


def test_gap_in_the_data_counts_candles_present():
    """A missing candle is not filled: the horizon counts rows, and the rows after the gap
    are scored as they are."""
    t = np.array([0, 1, 2, 5, 6, 7], dtype=np.int64) * 86_400_000  # 3 days missing
    c = np.array([100.0, 100, 100, 100, 100, 111])
    h, lo = c + 0.5, c - 0.5
    arrays = {"open_time": t, "high": h, "low": lo, "close": c}
    row = EventRow("x", 1, 1, ((110.0, "t", "t"),), 90.0, "inv", "")
    (e,) = score_rows([row], h, lo, c, horizon=4)
    assert (e.outcome, e.bars_to_outcome) == ("reached_target", 4)
    (e3,) = score_rows([row], h, lo, c, horizon=3)
    assert e3.outcome == "expired"
    assert arrays["open_time"][e.outcome_bar] == 7 * 86_400_000


def test_failure_in_bulkowskis_sense():
    # a long at 100 that gets 3% up, closes back below 100, then runs to the target
    c = np.array([100.0, 103, 99, 108, 115])
    h, lo = c + 0.0, c - 0.0
    row = EventRow("x", 1, 0, ((112.0, "t", "t"),), 80.0, "inv", "")
    (e,) = score_rows([row], h, lo, c, horizon=10)
    assert e.failed and e.outcome == "reached_target"


# -- history shifts: only candles after the entry matter -------------------------------------

def _outcomes(events):
    return [(e.kind, e.outcome, e.bars_to_outcome, round(e.mae_pct, 9), round(e.mfe_pct, 9),
             e.failed, tuple(t.bars_to_reach for t in e.targets)) for e in events]


def test_history_before_the_entry_is_never_read(btc_daily):
    h, lo, c = (btc_daily[k].copy() for k in ("high", "low", "close"))
    report = detect_patterns(btc_daily, PatternParams(include_hidden=True))
    from btcscan.stats.rules import event_rows

    rows = event_rows(report, h, lo, c)
    base = _outcomes(score_rows(rows, h, lo, c, 90))
    # wreck every candle before each event (keeping its entry close): nothing changes
    cut = sorted({r.bar for r in rows})[len(rows) // 2]
    later = [r for r in rows if r.bar >= cut]
    h2, lo2, c2 = h.copy(), lo.copy(), c.copy()
    h2[:cut] = 1e12
    lo2[:cut] = 1e-12
    c2[:cut] = 1.0
    assert _outcomes(score_rows(later, h2, lo2, c2, 90)) == base[-len(later):]
    # prepend 500 random candles and shift every entry: the same outcomes
    rng = np.random.default_rng(3)
    pre = rng.uniform(1, 1e6, 500)
    shifted = [replace(r, bar=r.bar + 500) for r in rows]
    got = score_rows(shifted, np.r_[pre * 2, h], np.r_[pre / 2, lo], np.r_[pre, c], 90)
    assert _outcomes(got) == base


def test_candles_after_the_outcome_are_never_read(btc_daily):
    h, lo, c = (btc_daily[k] for k in ("high", "low", "close"))
    report = detect_patterns(btc_daily, PatternParams(include_hidden=True))
    from btcscan.stats.rules import event_rows

    rows = event_rows(report, h, lo, c)
    full = score_rows(rows, h, lo, c, 90)
    end = c.size // 2
    keep = [i for i, e in enumerate(full) if e.outcome_bar is not None and e.outcome_bar <= end
            and e.outcome != "expired"]
    assert len(keep) > 50
    cut = score_rows([rows[i] for i in keep], h[:end + 1], lo[:end + 1], c[:end + 1], 90)
    assert [o[:3] + o[5:6] for o in _outcomes(cut)] == \
        [o[:3] + o[5:6] for o in _outcomes([full[i] for i in keep])]
