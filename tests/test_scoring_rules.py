"""The scoring rules as docs/stats.md states them, pinned on hand-built candles: the
candle that hits the invalidation adds its adverse move (MAE) but not its favourable one
(MFE, the 5% failure rule), and failure is judged only until the event resolves."""

from __future__ import annotations

import numpy as np
import pytest

from btcscan.kernels.outcomes import EXPIRED, INVALIDATED, TARGET, score_events
from tests.conftest import REPO


def score(bars, d, target, inval, horizon=10, on_close=False):
    """One event entered at the close of bar 0; ``bars`` = (high, low, close) after it."""
    h = np.array([100.0] + [b[0] for b in bars])
    lo = np.array([100.0] + [b[1] for b in bars])
    c = np.array([100.0] + [b[2] for b in bars])
    out = score_events(h, lo, c, [0], [d], np.array([[target, np.nan]]), [inval], horizon,
                       on_close=[on_close])
    return {k: v[0] for k, v in out.items()}


def test_the_invalidating_candles_favourable_move_is_not_counted():
    # long, invalidation = a close below 95; the invalidating candle spikes to 108 first
    r = score([(103, 99, 101), (108, 90, 94)], 1, 120.0, 95.0, on_close=True)
    assert r["status"] == INVALIDATED and r["invalid_bar"] == 2
    assert r["mae_pct"] == pytest.approx(-10.0)  # its low counts against the signal
    assert r["mfe_pct"] == pytest.approx(3.0)  # its high (+8%) does not
    assert bool(r["failed"])  # 3% < 5% before the reversal; +8% would have passed


def test_the_same_for_a_short_invalidated_by_a_touch():
    # short, invalidation = a high at or above 104; that candle's low of 93 is ignored
    r = score([(101, 97, 98), (105, 93, 99)], -1, 90.0, 104.0)
    assert r["status"] == INVALIDATED
    assert r["mae_pct"] == pytest.approx(-5.0)
    assert r["mfe_pct"] == pytest.approx(3.0)
    assert bool(r["failed"])


def test_failure_is_judged_only_until_the_event_resolves():
    # the only target (103) is reached on bar 1; bar 2 closes back below the entry, but
    # the event is resolved by then: not a failure, and bar 2 is not read
    r = score([(104, 99.5, 102), (102, 96, 97)], 1, 103.0, 90.0)
    assert r["status"] == TARGET and r["resolved_bar"] == 1
    assert not bool(r["failed"])
    assert r["mfe_pct"] == pytest.approx(4.0) and r["mae_pct"] == pytest.approx(-0.5)


def test_the_resolving_candle_itself_is_judged():
    # bar 1 touches the target and closes back below the entry: 4% < 5% -> failed
    r = score([(104, 98, 99)], 1, 103.0, 90.0)
    assert r["status"] == TARGET and bool(r["failed"])


def test_an_event_that_never_reverses_before_the_horizon_did_not_fail():
    r = score([(101, 99.8, 100.5), (101.5, 100.2, 101)], 1, 120.0, 90.0, horizon=2)
    assert r["status"] == EXPIRED and not bool(r["failed"])
    assert r["mfe_pct"] == pytest.approx(1.5)


def test_docs_state_these_rules():
    text = " ".join((REPO / "docs" / "stats.md").read_text().split())
    assert ("the candle that hits the invalidation adds its adverse move to MAE but not its "
            "favourable move to MFE or to the 5% of the failure rule") in text
    assert "Failure is judged only until the event resolves" in text
