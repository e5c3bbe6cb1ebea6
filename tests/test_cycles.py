"""Drawdown and declines: the rule on hand-made series, and the sample's 2017-2018 and
2021-2022 declines checked against dates read by hand from the Bitstamp CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

import btcscan.api as bs
from btcscan.analysis.cycles import current_drawdown, find_declines

DAY = 86_400_000


def _t(n):
    return np.arange(n, dtype=np.int64) * DAY


def test_rule_on_a_hand_made_series():
    #             0    1    2   3   4    5    6    7   8    9
    c = np.array([10, 20, 15, 9, 12, 21, 30, 16, 14, 18.0])
    d = find_declines(_t(c.size), c, 50.0)
    # 20 -> 9 (-55%) recovered at index 5 (21); 30 -> 14 (-53.3%) still ongoing
    assert [(x.peak.price, x.trough.price) for x in d] == [(20, 9), (30, 14)]
    assert d[0].days_to_trough == 2 and d[0].days_to_recover == 4 and not d[0].ongoing
    assert d[1].ongoing and d[1].recovered is None
    assert d[0].depth_pct == pytest.approx(-55.0)
    assert find_declines(_t(c.size), c, 60.0) == ()
    dd = current_drawdown(_t(c.size), c)
    assert dd.peak.price == 30 and dd.lowest_since_peak.price == 14
    assert dd.pct == pytest.approx(-40.0) and dd.days_since_peak == 3


def test_new_high_has_zero_drawdown_and_no_ongoing_decline():
    c = np.array([1.0, 2.0, 0.5, 3.0])
    assert current_drawdown(_t(4), c).pct == 0.0
    assert [x.ongoing for x in find_declines(_t(4), c, 50.0)] == [False]


def _by_day(btc_rows):
    return {r["t"].date(): r["close"] for r in btc_rows}


def _d(dt: datetime) -> date:
    return dt.astimezone(UTC).date()


def test_sample_declines_2017_2018_and_2021_2022(btc_rows):
    closes = _by_day(btc_rows)
    ctx = bs.scan(sample=True).series[0].context
    by_peak = {_d(x.peak.time): x for x in ctx.declines}
    # checked by hand in shared/data/btcusd_1d.csv: highest close of 2017 on 2017-12-16
    # (19,187.78), lowest close of the following bear market 2018-12-15 (3,179.54), first
    # close above 19,187.78 on 2020-11-30
    d17 = by_peak[date(2017, 12, 16)]
    assert closes[date(2017, 12, 16)] == d17.peak.price == max(
        v for k, v in closes.items() if k <= date(2020, 11, 29))
    assert _d(d17.trough.time) == date(2018, 12, 15)
    assert d17.trough.price == min(v for k, v in closes.items()
                                   if date(2017, 12, 16) <= k < date(2020, 11, 30))
    assert d17.depth_pct == pytest.approx((3179.54 / 19187.78 - 1) * 100)
    assert d17.days_to_trough == 364
    assert _d(d17.recovered) == date(2020, 11, 30)
    # 2021-11-08 close 67,559 -> 2022-11-21 close 15,766, recovered 2024-03-04
    d21 = by_peak[date(2021, 11, 8)]
    assert d21.peak.price == 67559.0 and d21.trough.price == 15766.0
    assert _d(d21.trough.time) == date(2022, 11, 21)
    assert d21.days_to_trough == (date(2022, 11, 21) - date(2021, 11, 8)).days
    assert _d(d21.recovered) == date(2024, 3, 4)
    assert d21.depth_pct == pytest.approx(-76.66, abs=0.01)
    # every decline satisfies the rule, and none was missed: a brute-force running-max
    # check finds the same set of peaks
    peaks = set()
    items = sorted(closes.items())
    run_max, run_day, low = -1.0, None, None
    for k, v in items:
        if v > run_max:
            if run_day is not None and low / run_max - 1 <= -0.5:
                peaks.add(run_day)
            run_max, run_day, low = v, k, v
        low = min(low, v)
    assert set(by_peak) - {p for p in by_peak if by_peak[p].ongoing} == peaks


def test_declines_are_point_in_time():
    # as of 2022-06-30 the 2021-11 decline is ongoing and its trough so far is June 2022
    ctx = bs.scan(sample=True, asof="2022-06-30").series[0].context
    last = ctx.declines[-1]
    assert _d(last.peak.time) == date(2021, 11, 8)
    assert last.ongoing and _d(last.trough.time) <= date(2022, 6, 30)
    assert all(_d(x.peak.time) <= date(2022, 6, 30) for x in ctx.declines)
    assert ctx.drawdown.peak.price == 67559.0


def test_current_drawdown_of_the_sample(btc_rows):
    closes = _by_day(btc_rows)
    dd = bs.scan(sample=True).series[0].context.drawdown
    peak_day = max(closes, key=lambda k: closes[k])
    assert _d(dd.peak.time) == peak_day
    assert dd.pct == pytest.approx((closes[date(2026, 4, 18)] / closes[peak_day] - 1) * 100)


def test_table_prints_the_context_with_its_sources():
    """The terminal report, rendered to text at a fixed width with no colour."""
    import io

    from rich.console import Console

    from btcscan.render.table import render_table

    buf = io.StringIO()
    render_table(bs.scan(sample=True), Console(file=buf, width=140, color_system=None))
    text = buf.getvalue()
    assert "power law, fit on this series: fair " in text
    assert "power law, Santostasi (bitcoinfairprice.com): fair " in text
    assert "published A=1.0117e-17, n=5.82" in text
    assert "Declines: a decline is a fall of at least 50% from an all-time closing high" in text
    # the 2017-2018 row, numbers as read by hand from the CSV
    row = next(ln for ln in text.splitlines() if "2017-12-16" in ln)
    for cell in ("19,188", "2018-12-15", "3,180", "-83.4%", "364", "2020-11-30"):
        assert cell in row
    eth = io.StringIO()
    render_table(bs.scan(sample=True, symbols=["ETH/USDT"]), Console(file=eth, width=140,
                                                                      color_system=None))
    assert "power law" not in eth.getvalue() and "Declines:" in eth.getvalue()


def _declines_ref(c, min_pct):
    """The rule of btcscan.analysis.cycles as a plain loop: (peak, trough, recovery) bars."""
    out = []
    peak = trough = 0
    for i in range(1, len(c)):
        if c[i] > c[peak]:
            if trough != peak and (c[trough] / c[peak] - 1) * 100 <= -min_pct:
                out.append((peak, trough, i))
            peak = trough = i
        elif c[i] < c[trough]:
            trough = i
    if trough != peak and (c[trough] / c[peak] - 1) * 100 <= -min_pct:
        out.append((peak, trough, None))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_declines_match_a_plain_loop_on_random_series(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    if seed % 4 == 0:  # few distinct values: ties between peaks and between troughs
        c = rng.integers(1, 6, n).astype(float)
    else:
        c = 100 * np.exp(np.cumsum(rng.normal(0, 0.05 + 0.01 * (seed % 5), n)))
    for min_pct in (0.0, 10.0, 50.0, 80.0):
        got = find_declines(_t(n), c, min_pct)
        want = _declines_ref(c.tolist(), min_pct)
        assert [(x.peak.time, x.trough.time, x.recovered) for x in got] == [
            (_dt(p), _dt(t), None if r is None else _dt(r)) for p, t, r in want]
        assert [x.depth_pct for x in got] == [(c[t] / c[p] - 1.0) * 100.0 for p, t, _ in want]
        assert [x.ongoing for x in got] == [r is None for _, _, r in want]


def _dt(bar):
    return datetime.fromtimestamp(bar * DAY / 1000, tz=UTC)
