"""Issue 15 (items 4, 5): levels the market drew (swings, previous week/month, lowest close
since the ATH), grouped ladder rows, no repeated level, round numbers without holes and
with a step from the timeframe's ATR, and the summary's distances from the price it shows."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from btcscan import api
from btcscan.analysis.levels import LevelCandidate, ladder, major_step, round_levels, round_step
from btcscan.data.sample import SAMPLES, load_sample
from btcscan.kernels.pivots import pivots_asof
from btcscan.patterns import PatternParams, detect_patterns
from btcscan.render.serial import to_jsonable
from btcscan.render.table import price as price_text
from btcscan.settings import ScanSettings
from btcscan.timeframes import parse_timeframe


def _scan(symbol: str, tf: str, asof: str | None):
    c = load_sample(symbol)
    return api.scan_one(c, parse_timeframe(tf), api.parse_asof(asof), ScanSettings(timeframe=tf))


@pytest.fixture(scope="module")
def btc_weekly_0418():
    return _scan("BTC/USD", "1w", "2026-04-18")


def _all(levels):
    """Every level of the ladder rows: each row's headline and its grouped levels."""
    return [x for row in levels for x in (row, *row.grouped)]


def _daily(symbol: str = "BTC/USD") -> list[dict]:
    return list(load_sample(symbol).frame.iter_rows(named=True))


# --- the levels themselves -------------------------------------------------------------------

def test_february_2026_low_close_is_on_the_weekly_ladder(btc_weekly_0418):
    """The issue's case: weekly BTC as of 2026-04-18 lists the lowest close since the
    all-time high, 62,795 (2026-02-05)."""
    rows = _daily()
    i_ath = max(range(len(rows)), key=lambda i: rows[i]["high"])
    after = [r for r in rows[i_ath + 1:] if r["open_time"] < datetime(2026, 4, 19, tzinfo=UTC)]
    low = min(after, key=lambda r: r["close"])
    assert (low["open_time"].date(), round(low["close"])) == (date(2026, 2, 5), 62_795)
    (lv,) = [lv for lv in _all(btc_weekly_0418.levels) if lv.kind == "lowest_close"]
    assert lv.price == low["close"] and lv.time == low["open_time"]
    assert "2026-02-05" in lv.label and "2025-10-06" in lv.source  # its date, and the ATH's


def test_previous_week_and_month_high_low_from_daily_candles(btc_weekly_0418):
    rows = _daily()

    def span(a: date, b: date):
        sel = [r for r in rows if a <= r["open_time"].date() <= b]
        return max(r["high"] for r in sel), min(r["low"] for r in sel)

    # the scan ends 2026-04-19 00:00 (a Sunday's end): the last whole week is Apr 6..12
    want = {"prev_week": span(date(2026, 4, 6), date(2026, 4, 12)),
            "prev_month": span(date(2026, 3, 1), date(2026, 3, 31))}
    got = {lv.kind: lv.price for lv in _all(btc_weekly_0418.levels)
           if lv.kind.startswith("prev_")}
    # the ladder keeps the nearest rows only; every one of these is within 15% of 75,737
    assert got == {"prev_week_high": want["prev_week"][0], "prev_week_low": want["prev_week"][1],
                   "prev_month_high": want["prev_month"][0],
                   "prev_month_low": want["prev_month"][1]}


def _weekly_hl(rows, until: datetime):
    """(monday, high, low) of Monday weeks closed by ``until``, in plain Python."""
    weeks: dict[date, list] = {}
    for r in rows:
        d = r["open_time"].date()
        m = d - timedelta(days=d.weekday())
        if datetime.combine(m + timedelta(days=7), datetime.min.time(), UTC) > until:
            break
        w = weeks.setdefault(m, [-math.inf, math.inf])
        w[0], w[1] = max(w[0], r["high"]), min(w[1], r["low"])
    return [(m, h, lo) for m, (h, lo) in weeks.items()]


def test_swing_levels_are_confirmed_pivots_of_the_weekly_candles(btc_weekly_0418):
    """Each swing level is the extreme of its bar's 5-before/5-after window of weekly
    candles, confirmed (5 candles later) by the scan time, with its date and its rule."""
    until = datetime(2026, 4, 19, tzinfo=UTC)
    weeks = _weekly_hl(_daily(), until)
    index = {m: i for i, (m, _, _) in enumerate(weeks)}
    swings = [lv for lv in _all(btc_weekly_0418.levels) if lv.kind.startswith("swing_")]
    assert {lv.kind for lv in swings} == {"swing_high", "swing_low"}
    for lv in swings:
        i = index[lv.time.date()]
        assert i + 5 <= len(weeks) - 1  # confirmed by the last closed week
        window = weeks[i - 5:i + 6]
        if lv.kind == "swing_high":
            assert lv.price == weeks[i][1] == max(w[1] for w in window)
        else:
            assert lv.price == weeks[i][2] == min(w[2] for w in window)
        assert lv.time.date().isoformat() in lv.label
        assert "zig-zag pivot 5/5" in lv.source and "confirmed" in lv.source


def test_weekly_ladder_groups_nearby_levels_by_the_stated_rule(btc_weekly_0418):
    r = btc_weekly_0418
    tol = min(0.25 * r.atr.value, 0.01 * r.latest.price)  # the stated rule
    assert tol == 0.01 * r.latest.price  # weekly BTC: 0.25 ATR (2,047) is more than 1%
    assert any(row.grouped for row in r.levels)
    for row in r.levels:
        members = [row, *row.grouped]
        assert max(m.price for m in members) - min(m.price for m in members) <= tol
    # a row starts at the first level beyond the previous row's lowest level + tol
    lows = sorted(min(m.price for m in (row, *row.grouped)) for row in r.levels)
    assert all(b - a > tol for a, b in zip(lows[:-1], lows[1:], strict=True))


def test_ladder_grouping_rule_on_hand_made_levels():
    cands = [LevelCandidate(*c) for c in (
        (100.0, "round", "round number 100", "r"), (100.4, "swing_low", "swing low", "s"),
        (101.1, "sma", "SMA 50", "m"), (101.3, "round", "round number 101.3", "r"),
        (103.0, "ath", "all-time high", "a"))]
    out = ladder(102.0, cands, per_side=5, group_within=1.0)
    rows = {lv.label: [g.label for g in lv.grouped] for lv in out}
    # 100 and 100.4 (0.4 <= 1 above 100), then 101.1 and 101.3, then 103
    assert rows == {"swing low": ["round number 100"], "SMA 50": ["round number 101.3"],
                    "all-time high": []}
    assert [lv.side for lv in out] == ["below", "above", "below"]


# --- defects: repeats, holes, step ---------------------------------------------------------

MARKETS = sorted(SAMPLES)


@pytest.mark.parametrize("symbol", MARKETS)
def test_no_level_repeats_over_bundled_markets_and_timeframes(symbol):
    """Issue 15: 13 of 512 scans listed a round level twice (DOGE/USDT 3d: 0.1)."""
    for tf in ("1d", "3d", "1w", "1M"):
        # 2025-03-15: ADA 3d had rows at 1.165 and 1.174, once both printed "1.17"
        for asof in (None, "2024-03-13", "2025-03-15", "2025-06-30"):
            r = _scan(symbol, tf, asof)
            flat = [(lv.kind, round(lv.price, 10)) for lv in _all(r.levels)]
            assert len(flat) == len(set(flat)), (symbol, tf, asof)
            shown = [price_text(lv.price, r.latest.price) for lv in r.levels]  # as printed
            assert len(shown) == len(set(shown)), (symbol, tf, asof, shown)
            labels = [lv.label for lv in _all(r.levels)]
            assert len(labels) == len(set(labels)), (symbol, tf, asof)


@pytest.mark.parametrize("symbol", MARKETS)
def test_round_numbers_on_the_ladder_have_no_hole(symbol):
    """Issue 15: ETH's ladder went 1,900 -> 1,800 -> 1,000."""
    for tf in ("1d", "1w"):
        r = _scan(symbol, tf, None)
        step = round_step(r.latest.price, r.atr.value)
        rounds = sorted(lv.price for lv in _all(r.levels) if lv.kind == "round")
        assert rounds, (symbol, tf)
        gaps = [b - a for a, b in zip(rounds[:-1], rounds[1:], strict=True)]
        # consecutive multiples of the step; the only wider gap straddles the price
        wide = [g for g in gaps if not math.isclose(g, step, rel_tol=1e-9)]
        assert len(wide) <= 1 and all(math.isclose(g, 2 * step, rel_tol=1e-9) for g in wide)


@pytest.mark.parametrize("atr, step", [(8_188, 10_000), (2_800, 5_000), (700, 1_000),
                                       (150, 200), (0.013, 0.02), (1.0, 1.0), (99.0, 100.0)])
def test_round_step_from_atr(atr, step):
    assert round_step(75_737, atr) == pytest.approx(step)


def test_round_step_never_above_the_major_step():
    # monthly ADA: ATR 0.27 above the price 0.26; the major step there is 0.1
    assert round_step(0.2625, 0.2704) == pytest.approx(0.1)
    assert round_step(0.2625, 0.0704) == pytest.approx(0.1)
    assert round_step(0.2625, 0.0304) == pytest.approx(0.05)


def test_daily_round_step_finer_than_weekly():
    d, w = _scan("BTC/USD", "1d", "2026-04-18"), _scan("BTC/USD", "1w", "2026-04-18")
    assert round_step(d.latest.price, d.atr.value) < round_step(w.latest.price, w.atr.value)
    assert any(lv.kind == "round" and lv.price % 10_000 for lv in _all(d.levels))


@hsettings(max_examples=300, deadline=None)
@given(st.floats(1e-6, 1e7), st.integers(-6, 6), st.sampled_from([1.0, 2.0, 5.0]),
       st.integers(1, 6))
def test_round_levels_distinct_contiguous_and_never_the_price(price, e, m, per_side):
    step = m * 10.0 ** e
    if not (1 <= price / step <= 1e6):  # a step from 1 to a millionth of the price
        return
    out = round_levels(price, per_side, step)
    values = [v for v, _ in out]
    assert values == sorted(set(values))
    assert all(not math.isclose(v, price, rel_tol=1e-12) for v in values)
    multiples = [v for v in values if abs(v / step - round(v / step)) < 1e-6]
    below = [v for v in multiples if v < price][-per_side:]
    above = [v for v in multiples if v > price][:per_side]
    k = math.floor(price / step + 1e-9)
    assert len(above) == per_side
    for a, b in zip((below + above)[:-1], (below + above)[1:], strict=True):
        assert b - a == pytest.approx(step, rel=1e-6) or (a < price < b and b - a <= 2 * step
                                                          * (1 + 1e-6)), (a, b, k)


@hsettings(max_examples=300, deadline=None)
@given(st.floats(1e-6, 1e15), st.integers(-6, 14), st.sampled_from([1.0, 2.0, 5.0]),
       st.integers(1, 10))
def test_round_levels_are_the_multiples_rounded_to_ten_decimals(price, e, m, per_side):
    # the definition, written plainly: every multiple rounded to 10 decimals (round_levels
    # skips the rounding where the multiples are exact integers: the same numbers)
    step = m * 10.0 ** e
    if not (1 <= price / step <= 1e6):
        return
    major = major_step(price)
    want = set()
    for unit, n in ((step, per_side), (major, 1)):
        q = price / unit
        exact = abs(q - round(q)) < 1e-9 * max(1.0, q)
        lo = round(q) - 1 if exact else math.floor(q)
        hi = round(q) + 1 if exact else lo + 1
        for i in range(n):
            want |= {round((lo - i) * unit, 10), round((hi + i) * unit, 10)}
    assert [v for v, _ in round_levels(price, per_side, step)] == sorted(v for v in want
                                                                       if v > 0)


# --- causality: the new levels replay --------------------------------------------------------

@pytest.mark.parametrize("tf", ["1d", "1w"])
@pytest.mark.parametrize("day", ["2021-11-10", "2024-03-13", "2025-11-04", "2026-02-20"])
def test_new_levels_replay_scan_asof_equals_scan_of_cut_file(tf, day):
    btc = load_sample("BTC/USD")
    asof = api.parse_asof(day)
    cut = replace(btc, frame=btc.frame.filter(
        pl.col("open_time") < datetime.fromtimestamp(asof / 1000, tz=UTC)))
    settings = ScanSettings(timeframe=tf, ladder_size=40)  # wide: every kind is on it
    a = api.scan_one(btc, parse_timeframe(tf), asof, settings)
    b = api.scan_one(cut, parse_timeframe(tf), None, settings)
    assert a.levels == b.levels and a == b
    kinds = {lv.kind for lv in _all(a.levels)}
    assert {"swing_low", "swing_high", "prev_week_low", "prev_month_high"} <= kinds
    for lv in _all(a.levels):  # nothing the market drew after the scan time
        assert lv.time is None or lv.time < a.asof


# --- the summary measures from the price it shows --------------------------------------------

def test_summary_dist_is_from_the_price_it_shows():
    from btcscan.render.summary import summary_lines

    res = api.scan_markets(["sample:ETH/USDT@1w", "sample:BTC/USD@1w"])
    lines = summary_lines(res, ())
    head = lines[1].split()
    assert head[:3] == ["market", "tf", "price"]
    for r in res.series:
        (row,) = [ln for ln in lines if ln.startswith(f"binance:{r.source.symbol}")
                  or ln.startswith(f"bitstamp:{r.source.symbol}")]
        cells = row.split()
        shown = float(cells[2].replace(",", ""))
        dist = float(cells[-1].rstrip("%"))
        lv = r.levels[0]
        assert shown == pytest.approx(r.latest.price, rel=3e-4)  # as printed (1,983)
        # from the printed price, up to the rounding of the two printed numbers
        assert dist == pytest.approx((lv.price / shown - 1) * 100, abs=0.08)


def test_round_levels_near_a_major_list_it_once():
    """0.08 + 2 steps of 0.01 is 0.09999999999999999 in floats, the major below 0.1 is 0.1:
    the old sets kept both and the ladder showed "0.1" twice (DOGE/USDT 3d)."""
    values = [v for v, _ in round_levels(0.0802, 2)]
    assert values == [0.07, 0.08, 0.09, 0.1]
    assert dict(round_levels(0.0802, 2))[0.1] is True


# --- every signal states its price -----------------------------------------------------------

def test_wedge_breakdown_and_divergence_signals_carry_the_close_and_trigger():
    """Daily BTC as of 2025-11-15: the falling wedge broke down at the 2025-11-14 close
    (price was null), and a divergence's price was its second pivot's."""
    from btcscan.alerts.signals import signals_of

    closes = {r["open_time"].date().isoformat(): r["close"] for r in _daily()}
    r = _scan("BTC/USD", "1d", "2025-11-15")
    sig = signals_of(r)
    (brk,) = [s for s in sig if s.kind == "wedge-breakdown"]
    (w,) = [w for w in r.patterns.active_wedges if w.state == "broke_down"]
    assert brk.time.date().isoformat() == "2025-11-14"
    assert brk.price == closes["2025-11-14"]
    assert brk.trigger_level == pytest.approx(w.lower.value_at(w.state_at_bar))
    assert brk.price < brk.trigger_level  # a close below the lower line
    # the weekly bearish divergences of docs/patterns.md, known at the 2025-02-24 and
    # 2025-11-03 weekly closes; a weekly candle's close is its Sunday's daily close
    divs = {d: [s for s in signals_of(_scan("BTC/USD", "1w", d)) if s.kind.endswith("divergence")]
            for d in ("2025-03-10", "2025-11-24")}
    want = {"2025-03-10": ("2025-02-24", 109_356), "2025-11-24": ("2025-11-03", 125_725)}
    for d, (week, second_high) in want.items():
        (s,) = divs[d]
        assert s.kind == "bearish-divergence" and s.time.date().isoformat() == week
        sunday = (s.time + timedelta(days=6)).date().isoformat()
        assert s.price == closes[sunday]
        assert round(s.trigger_level) == second_high  # the second pivot's high


def test_4h_btc_round_numbers_follow_the_4h_range(tmp_path):
    """Issue 15: a 4h scan of BTC got round numbers every 10,000. On a 4-hour random walk
    near 70,000 (0.8% a candle) the step follows the 4h ATR: 500 to 2,000."""
    import numpy as np

    from tests.conftest import write_csv

    rng = np.random.default_rng(7)
    n = 600
    close = 70_000 * np.exp(np.cumsum(rng.normal(0, 0.008, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.004, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.004, n))
    t0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
    rows = [[t0 + i * 4 * 3_600_000, open_[i], high[i], low[i], close[i], 1.0] for i in range(n)]
    path = write_csv(tmp_path / "btcusdt_4h.csv", ["timestamp_ms_utc", "open", "high", "low",
                                                    "close", "volume"], rows)
    (r,) = api.scan(files=[str(path)], timeframe="4h").series
    assert 300 < r.atr.value < 2_000
    step = round_step(r.latest.price, r.atr.value)
    assert round_step(r.latest.price) == 10_000  # the price-only step (the old one)
    assert step in (500, 1_000, 2_000) and r.atr.value <= step < 2.5 * r.atr.value
    rounds = sorted(lv.price for lv in _all(r.levels) if lv.kind == "round")
    assert len(rounds) >= 4 and all(p % step == 0 for p in rounds)
    assert rounds[-1] - rounds[0] < 10 * step + 1  # nothing like 60,000 / 70,000 / 80,000


@pytest.mark.parametrize("params", [None, PatternParams(),
                                    PatternParams(atr_period=10, rsi_period=9, pivot_left=4)])
def test_swing_levels_and_patterns_share_one_atr_rsi_and_zigzag(params):
    """analyse hands its ATR and RSI to the engine when the periods are the same and reads
    the engine's zig-zag for the swing levels: the same levels and pattern report as each
    computed on its own (patterns off: the default pivot settings)."""
    from btcscan.kernels.pivots import zigzag
    from btcscan.kernels.rolling import atr

    c = load_sample("ETH/USDT")
    r = api.scan_one(c, parse_timeframe("1d"), None,
                     ScanSettings(timeframe="1d", patterns=params), detail=False)
    ta = c.arrays()
    p = params or PatternParams()
    log = zigzag(ta["high"], ta["low"], atr(ta["high"], ta["low"], ta["close"], p.atr_period),
                 p.pivot_left, p.pivot_right, p.min_swing_atr)
    e = pivots_asof(log, ta["close"].size - 1)
    known = set(zip(log["price"][e].tolist(), ta["open_time"][log["bar"][e]].tolist(),
                    strict=True))
    swings = [lv for lv in _all(r.levels) if lv.kind.startswith("swing_")]
    assert swings and {(lv.price, int(lv.time.timestamp() * 1000)) for lv in swings} <= known
    assert all(f"pivot {p.pivot_left}/{p.pivot_right}" in lv.source for lv in swings)
    if params is None:
        assert r.patterns is None
    else:
        assert to_jsonable(r.patterns) == to_jsonable(detect_patterns(ta, params))
