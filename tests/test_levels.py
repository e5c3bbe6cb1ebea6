"""Round numbers, the ladder, and SMA states against naive references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btcscan.analysis.levels import LevelCandidate, ladder, round_levels, round_step, sma_state


@pytest.mark.parametrize("price, step", [(75_737, 10_000), (30_000, 10_000), (29_999, 1_000),
                                         (126_272, 10_000), (3_100, 1_000), (0.21, 0.01)])
def test_round_step(price, step):
    assert round_step(price) == pytest.approx(step)


def test_round_levels_for_btc_include_100k():
    lv = dict(round_levels(94_500))
    assert {90_000, 80_000, 100_000, 110_000} <= set(lv)
    assert lv[100_000] is True and lv[90_000] is False


def test_ladder_nearest_first_and_per_side_limit():
    cands = [LevelCandidate(p, "round", f"r{p}", "") for p in (80, 90, 100, 110, 120, 130)]
    out = ladder(101.0, cands, per_side=2)
    assert [lv.price for lv in out] == [100, 110, 90, 120]
    assert [lv.side for lv in out] == ["below", "above", "below", "above"]


def naive_state(close, sma):
    last = len(close) - 1
    if math.isnan(sma[last]):
        return "warming_up", 0
    side = close[last] >= sma[last]
    n, i = 0, last
    while i >= 0 and not math.isnan(sma[i]) and (close[i] >= sma[i]) == side:
        n, i = n + 1, i - 1
    if n == 1 and i >= 0 and not math.isnan(sma[i]):
        return ("crossed_above" if side else "crossed_below"), n
    return ("above" if side else "below"), n


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 100), st.floats(1, 100)), min_size=1, max_size=60),
       st.integers(0, 10))
def test_sma_state_matches_naive_loop(pairs, warm):
    close = np.array([p[0] for p in pairs])
    sma = np.array([p[1] for p in pairs])
    sma[: min(warm, len(sma))] = np.nan
    got = sma_state(close, sma, 5, float(close[-1]), "daily")
    assert (got.state, got.closes) == naive_state(list(close), list(sma))


def test_ladder_levels_are_the_dataclass_s_own():
    # the ladder fills each Level's fields directly (a fast path); every row and grouped
    # level must be the object Level(...) makes from the same candidate: same fields,
    # equality, hash and repr, and no attribute more
    from dataclasses import asdict, fields

    from btcscan.analysis.levels import utc_time
    from btcscan.models import Level

    cands = [LevelCandidate(100.0, "round", "round number 100", "r"),
             LevelCandidate(100.4, "swing_low", "swing low", "s", 1_700_000_000_000),
             LevelCandidate(103.0, "ath", "all-time high", "a", 1_600_000_000_000)]
    by_label = {c.label: c for c in cands}
    rows = ladder(102.0, cands, per_side=5, group_within=1.0)
    assert [(r.label, len(r.grouped)) for r in rows] == [("all-time high", 0), ("swing low", 1)]

    def made(lv: Level, grouped: tuple) -> Level:
        c = by_label[lv.label]
        return Level(price=c.price, kind=c.kind, label=c.label, source=c.source,
                     distance_pct=(c.price / 102.0 - 1) * 100,
                     side="above" if c.price > 102.0 else "below",
                     time=None if c.time_ms is None else utc_time(c.time_ms), grouped=grouped)

    for row in rows:
        want = made(row, tuple(made(g, ()) for g in row.grouped))
        assert row == want and hash(row) == hash(want) and repr(row) == repr(want)
        assert asdict(row) == asdict(want)
        assert vars(row).keys() == vars(want).keys() == {f.name for f in fields(Level)}
