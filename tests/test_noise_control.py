"""Noise control: on pure random walks (no signal can have an edge) the whole `btcscan
stats` procedure flags some kind as significant in no more than ALPHA of the walks, while
the same p-values without the correction flag far more (so the bound is not loose by
construction). The benchmark `benchmarks/bench_chance.py` prints the rate on 200 walks."""

from __future__ import annotations

import numpy as np
import pytest

from btcscan.patterns import PatternParams, detect_patterns
from btcscan.stats import chance
from btcscan.stats.compute import series_parts
from tests.synth import random_walk

WALKS = 20  # seeds 0..19, fixed in advance (not searched)


@pytest.fixture(scope="module")
def tables():
    out = []
    for seed in range(WALKS):
        a = random_walk(np.random.default_rng(seed), 1500, 0.025)
        report = detect_patterns(a, PatternParams(include_hidden=True))
        s, _ = series_parts(a, report, market="walk", symbol="WALK", timeframe="1d",
                            tf_label="daily", horizon=60)
        out.append(chance.correct(s.kinds))
    return out


def test_random_walks_are_flagged_in_at_most_alpha_of_the_seeds(tables):
    flagged = sum(fam.significant > 0 for _, fam in tables)
    assert flagged <= chance.ALPHA * WALKS
    # the tables held real tests: kinds with enough events, every measure tested
    assert all(fam.tests >= 12 for _, fam in tables)


def test_without_the_correction_the_same_walks_break_the_bound(tables):
    raw = sum(any(t.p_value is not None and t.p_value < chance.ALPHA
                  for k in kinds for t in k.chance) for kinds, _ in tables)
    assert raw > chance.ALPHA * WALKS  # 6 of 20 walks here: the bound would fail


def test_single_p_values_are_not_too_small(tables):
    """Calibration: the share of single tests with p < ALPHA stays near ALPHA or below."""
    ps = [t.p_value for kinds, _ in tables for k in kinds for t in k.chance
          if t.p_value is not None]
    assert len(ps) > 200
    assert np.mean(np.array(ps) < chance.ALPHA) <= 1.5 * chance.ALPHA
