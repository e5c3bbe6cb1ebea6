"""Tests against chance (btcscan.stats.chance): Holm and the p-value by hand, the circular
shift test recomputed in plain Python, and effects planted with foresight found."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from btcscan.kernels.outcomes import score_events
from btcscan.stats import chance
from btcscan.stats.types import KindStats
from tests.reference import score_ref
from tests.synth import random_walk


def test_holm_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> running max
    assert chance.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert chance.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert chance.holm([]) == []


def test_two_sided_p_by_hand():
    shifted = np.arange(1.0, 10.0)  # 1..9
    # observed 5: 5 shifts >= 5 and 5 <= 5 -> (1+5)/10 each side, doubled -> 1
    assert chance.two_sided_p(5.0, shifted) == 1.0
    # observed 10: none >= 10 -> (1+0)/10 = 0.1, doubled
    assert chance.two_sided_p(10.0, shifted) == pytest.approx(0.2)
    # observed 0: the low tail
    assert chance.two_sided_p(0.0, shifted) == pytest.approx(0.2)
    # observed 2: 2 shifts <= 2 -> 3/10, doubled
    assert chance.two_sided_p(2.0, shifted) == pytest.approx(0.6)


def _naive(a, bars, d, tratio, iratio, on_close, horizon, offsets):
    """The test written from the docstring with loops: thin one position at a time, shift
    every kept bar by each offset modulo L, rescore with the plain-Python scorer."""
    h, lo, c = (a[k].tolist() for k in ("high", "low", "close"))
    span = len(c) - horizon
    kept, last = [], None
    for i, b in enumerate(bars):
        if b < span and (last is None or b - last >= horizon):
            kept.append(i)
            last = b

    def measures(starts):
        reached, rets = [], []
        for i, s in zip(kept, starts, strict=True):
            t = [tratio[i][0] * c[s], tratio[i][1] * c[s]]
            r = score_ref(h, lo, c, s, d, t, iratio[i] * c[s], horizon, on_close=on_close[i])
            reached.append(r["status"] == 1)
            rets.append((c[s + horizon] / c[s] - 1.0) * 100.0 * d)
        return (100.0 * sum(reached) / len(reached), statistics.median(rets),
                100.0 * sum(x > 0 for x in rets) / len(rets))

    shifted = [measures([(bars[i] + u % span) % span for i in kept]) for u in offsets]
    return kept, shifted


def test_shift_test_equals_a_plain_python_recomputation():
    rng = np.random.default_rng(5)
    a = random_walk(rng, 420, 0.03)
    horizon = 20
    bars = np.array([30, 35, 60, 100, 150, 250, 300, 340, 405], dtype=np.int64)
    d = -1
    c = a["close"]
    targets = np.stack([c[bars] * 0.95, np.full(bars.size, np.nan)], axis=1)
    inval = c[bars] * np.array([1.04, 1.02, 1.06, 1.05, 1.03, 1.04, 1.02, 1.05, 1.04])
    on_close = np.array([True, False] * 4 + [True])
    out = score_events(a["high"], a["low"], c, bars, np.full(bars.size, d), targets, inval,
                       horizon, on_close=on_close)
    u = np.random.default_rng(1).integers(0, 1 << 40, 60)
    s = chance.kind_sample("k", a["high"], a["low"], c, bars, d, targets, inval, on_close,
                           out["status"] == 1, horizon, u)
    tests = {t.measure: t for t in chance.chance_tests([s], u)}
    entry = c[bars]
    kept, shifted = _naive(a, bars.tolist(), d, (targets / entry[:, None]).tolist(),
                           (inval / entry).tolist(), on_close.tolist(), horizon, u.tolist())
    assert kept == [0, 2, 3, 4, 5, 6, 7]  # 35 is 5 after 30; 405 + 20 is past the last bar (419)
    obs = [100.0 * np.mean(out["status"][kept] == 1),
           statistics.median((c[bars[kept] + horizon] / c[bars[kept]] - 1) * 100 * d),
           100.0 * np.mean((c[bars[kept] + horizon] / c[bars[kept]] - 1) * d > 0)]
    for j, name in enumerate(("reached_target", "median_return_pct", "hit_rate")):
        t = tests[name]
        col = [x[j] for x in shifted]
        assert t.events == 7
        assert t.value == pytest.approx(obs[j])
        assert t.random == pytest.approx(statistics.fmean(col))
        tie = 1e-9 * max(1.0, abs(obs[j]))  # shares like 3/7 computed two ways differ by 1 ulp
        hi = (1 + sum(x >= obs[j] - tie for x in col)) / (len(col) + 1)
        low = (1 + sum(x <= obs[j] + tie for x in col)) / (len(col) + 1)
        assert t.p_value == pytest.approx(min(1.0, 2 * min(hi, low))), name
    # the levels moved with the events did change outcomes: the comparison is not vacuous
    assert len({x[0] for x in shifted}) > 2 and len({x[1] for x in shifted}) > 10


def _foresight(a, horizon, pick):
    """Bars whose forward return is in the top (pick > 0) or bottom decile: an edge."""
    c = a["close"]
    fwd = c[horizon:] / c[:-horizon] - 1
    cut = np.quantile(fwd, 0.9 if pick > 0 else 0.1)
    return np.flatnonzero(fwd >= cut if pick > 0 else fwd <= cut).astype(np.int64)


@pytest.mark.parametrize("pick", [1, -1])
def test_an_edge_planted_with_foresight_is_found(pick):
    rng = np.random.default_rng(7)
    a = random_walk(rng, 3000, 0.02)
    horizon = 30
    bars = _foresight(a, horizon, pick)
    c = a["close"]
    m = bars.size
    targets = np.stack([c[bars] * 1.03, np.full(m, np.nan)], axis=1)
    inval = c[bars] * 0.97
    on_close = np.ones(m, dtype=np.bool_)
    out = score_events(a["high"], a["low"], c, bars, np.ones(m), targets, inval, horizon,
                       on_close=on_close)
    s = chance.kind_sample("k", a["high"], a["low"], c, bars, 1, targets, inval, on_close,
                           out["status"] == 1, horizon)
    tests = chance.chance_tests([s])
    ks = KindStats(kind="k", label="k", events=m, open=0, resolved=m, reached_first_target=0,
                   invalidated=0, expired=0, failed=0, targets=(), median_mae_pct=None,
                   worst_mae_pct=None, median_mfe_pct=None, median_bars_to_target=None,
                   chance=tests)
    (k,), fam = chance.correct([ks])
    assert fam.tests == 3 and fam.significant >= 2
    by = {t.measure: t for t in k.chance}
    want = "edge shown" if pick > 0 else "worse than random"
    for name in ("median_return_pct", "hit_rate"):
        assert by[name].p_holm < chance.ALPHA and by[name].verdict == want, name
    # 2,999 shifts: the smallest two-sided p is 2/3000
    assert min(t.p_value for t in k.chance) >= 2 / (chance.SHIFTS + 1) - 1e-12


def test_random_entries_on_the_same_series_are_fair():
    """Events at every measurable bar: the events *are* the random entries, so the
    measures equal the baseline and nothing is flagged."""
    rng = np.random.default_rng(3)
    a = random_walk(rng, 600, 0.02)
    horizon = 1
    c = a["close"]
    bars = np.arange(c.size - horizon, dtype=np.int64)
    m = bars.size
    nan = np.full((m, 2), np.nan)
    out = score_events(a["high"], a["low"], c, bars, np.ones(m), nan, np.full(m, np.nan),
                       horizon)
    s = chance.kind_sample("k", a["high"], a["low"], c, bars, 1, nan, np.full(m, np.nan),
                           np.zeros(m, dtype=np.bool_), out["status"] == 1, horizon)
    by = {t.measure: t for t in chance.chance_tests([s])}
    assert by["hit_rate"].events == m
    assert by["hit_rate"].value == pytest.approx(by["hit_rate"].random)
    assert by["median_return_pct"].value == pytest.approx(by["median_return_pct"].random)
    assert all(t.p_value == 1.0 for t in by.values())
    assert math.isclose(by["reached_target"].value, 0.0)  # no target: never reached
