"""Round numbers, levels the market drew, SMA support state and the level ladder.

Every level is point in time: it uses candles closed by the scan time only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from btcscan.models import Level, SmaState
from btcscan.timeframes import DAY_MS, WEEK_MS

#: Kinds in the order a ladder row prefers as its headline: a price the market printed
#: first, then the computed ones (the rest of a group is listed under it).
HEADLINE_ORDER = ("ath", "swing_low", "swing_high", "lowest_close", "prev_month_low",
                  "prev_month_high", "prev_week_low", "prev_week_high", "breakout", "breakdown",
                  "wedge_line", "invalidation", "target", "sma", "round", "power_law")

# Monday 1970-01-05 00:00 UTC: weeks open on Mondays (DOMAIN.md)
_MONDAY_MS = 4 * DAY_MS


class LevelCandidate(NamedTuple):
    """A level offered to :func:`ladder`. ``time_ms``: when the market made it (UTC ms), if
    it did."""

    price: float
    kind: str
    label: str
    source: str
    time_ms: int | None = None


def round_step(price: float, atr: float | None = None) -> float:
    """Round-number step.

    With a usable ``atr`` (the scanned timeframe's ATR, price units): the smallest 1, 2 or
    5 x 10^k not below it, so the step follows the chart's typical candle range (weekly BTC
    near 75,000 with ATR 8,188 -> 10,000; a 4h chart with ATR 700 -> 1,000), but never
    more than :func:`major_step` (monthly ADA at 0.26 with ATR 0.27 -> 0.1, not 0.5).
    Without one: the largest power of ten not above ``price / 3`` (BTC at 30,000-299,999
    -> 10,000; ETH at 3,000 -> 1,000; DOGE at 0.2 -> 0.01).
    """
    if price <= 0 or not math.isfinite(price):
        raise ValueError("price must be positive")
    by_price = 10.0 ** math.floor(math.log10(price / 3.0))
    if atr is None or not (math.isfinite(atr) and atr > 0):
        return by_price
    k = math.floor(math.log10(atr))
    step = 10.0 ** (k + 1)  # 10^(k+1) >= atr: the loop below finds the smallest
    for m in (5.0, 2.0, 1.0):
        if m * 10.0 ** k >= atr * (1 - 1e-12):
            step = m * 10.0 ** k
    return min(step, 10.0 * by_price)


def major_step(price: float) -> float:
    """A "major" round number: ten times the price-only step (100,000 for BTC at
    30,000-299,999; 1,000 for ETH at 3,000-29,999)."""
    return 10.0 * round_step(price)


def round_levels(price: float, per_side: int = 2,
                 step: float | None = None) -> list[tuple[float, bool]]:
    """Round numbers around ``price``: the ``per_side`` nearest multiples of ``step``
    (default :func:`round_step` of the price) on each side, with no gap between them, plus
    the nearest multiple of :func:`major_step` on each side. Returns sorted, distinct
    (level, is_major) pairs; a level equal to the price counts as below."""
    step = step or round_step(price)
    major = major_step(price)
    out: set[float] = set()
    for unit, n in ((step, per_side), (major, 1)):
        # integer multiples, so that 0.1 and 0.09999999999999999 are one level; a multiple
        # equal to the price is neither side's (as before: the next one is)
        q = price / unit
        exact = abs(q - round(q)) < 1e-9 * max(1.0, q)
        lo = round(q) - 1 if exact else math.floor(q)
        hi = round(q) + 1 if exact else lo + 1
        ks = (*range(lo - n + 1, lo + 1), *range(hi, hi + n))
        if unit.is_integer() and (hi + n) * unit < _EXACT_INTS:
            out.update([k * unit for k in ks])  # exact integers: rounding would change nothing
        else:
            out.update([round(k * unit, 10) for k in ks])
    return [(v, abs((q := v / major) - round(q)) < 1e-9) for v in sorted(out) if v > 0]


#: floats hold every integer below this exactly
_EXACT_INTS = 2.0 ** 53


@lru_cache(maxsize=1 << 12)  # round numbers recur across markets and scans
def round_label(level: float, major: bool) -> str:
    """The ladder label of a round number from :func:`round_levels`."""
    return f"round number {level:,.10g}" + (" (major)" if major else "")


def swing_levels(log: dict[str, np.ndarray], last_bar: int, lookback: int,
                 times_ms: np.ndarray, tf_label: str, rule: str) -> list[LevelCandidate]:
    """Swing highs and lows of the zig-zag ``log`` (:func:`btcscan.kernels.pivots.zigzag`)
    in the alternating pivot list as known at ``last_bar`` (confirmed by then: causal),
    with their bar within the last ``lookback`` bars. ``rule`` says how the pivots were
    found."""
    from btcscan.kernels.pivots import pivots_asof

    e = pivots_asof(log, last_bar)
    e = e[log["bar"][e] >= last_bar - lookback]
    out = []
    for sign, price, t, confirm in zip(  # Python floats and ints (tolist)
            log["side"][e].tolist(), log["price"][e].tolist(),
            times_ms[log["bar"][e]].tolist(), times_ms[log["confirm"][e]].tolist(), strict=True):
        side = "high" if sign > 0 else "low"
        out.append(LevelCandidate(
            price, f"swing_{side}", f"swing {side} ({tf_label}, {date_of(t)})",
            f"{rule}; confirmed {date_of(confirm)}", t))
    return out


@lru_cache(maxsize=1 << 16)  # the same candle dates recur across levels and markets
def date_of(ms: int) -> str:
    """UTC milliseconds -> ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


@lru_cache(maxsize=1 << 16)
def utc_time(ms: int) -> datetime:
    """UTC milliseconds -> aware datetime (immutable, so one object serves every level)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@lru_cache(maxsize=1 << 10)  # a scan's markets share its time
def _month_start_ms(ms: int, back: int = 0) -> int:
    d = datetime.fromtimestamp(ms / 1000, tz=UTC)
    m = d.year * 12 + d.month - 1 - back
    return int(datetime(m // 12, m % 12 + 1, 1, tzinfo=UTC).timestamp() * 1000)


def previous_period_levels(open_ms: np.ndarray, close_ms: np.ndarray, high: np.ndarray,
                           low: np.ndarray, asof_ms: int, base_label: str
                           ) -> list[LevelCandidate]:
    """High and low of the previous calendar week (Monday 00:00 UTC) and month: the last
    whole period ended by ``asof_ms``, from candles (``open_ms``, ``close_ms``) of a
    timeframe no coarser than a day. A period with no candle gives nothing."""
    week_end = asof_ms - (asof_ms - _MONDAY_MS) % WEEK_MS
    month_end = _month_start_ms(asof_ms)
    out = []
    for name, start, end in (("week", week_end - WEEK_MS, week_end),
                             ("month", _month_start_ms(asof_ms, 1), month_end)):
        i0 = int(open_ms.searchsorted(start, side="left"))
        i1 = int(close_ms.searchsorted(end, side="right"))
        if i1 <= i0:
            continue
        span = f"{date_of(start)}..{date_of(end - 1)}" if name == "week" else date_of(start)[:7]
        hi = i0 + int(high[i0:i1].argmax())
        lo = i0 + int(low[i0:i1].argmin())
        out.append(LevelCandidate(float(high[hi]), f"prev_{name}_high",
                                  f"previous {name}'s high", f"highest {base_label} high {span}",
                                  int(open_ms[hi])))
        out.append(LevelCandidate(float(low[lo]), f"prev_{name}_low",
                                  f"previous {name}'s low", f"lowest {base_label} low {span}",
                                  int(open_ms[lo])))
    return out


def lowest_close_since(open_ms: np.ndarray, close: np.ndarray, i_ath: int,
                       base_label: str) -> list[LevelCandidate]:
    """The lowest close after the all-time high's candle ``i_ath`` and before the last
    candle (whose close is the price itself: when it is the lowest, the price has just
    closed below the level). None when there is no such candle."""
    if i_ath + 2 >= close.shape[0]:
        return []
    j = i_ath + 1 + int(close[i_ath + 1:-1].argmin())
    return [LevelCandidate(float(close[j]), "lowest_close",
                           f"lowest close since the ATH ({date_of(int(open_ms[j]))})",
                           f"lowest {base_label} close after the ATH of "
                           f"{date_of(int(open_ms[i_ath]))}", int(open_ms[j]))]


def sma_state(
    close: np.ndarray, sma: np.ndarray, period: int, latest: float, tf_label: str
) -> SmaState:
    """State of the last close against its SMA, counted on closed candles only."""
    method = f"simple mean of the last {period} {tf_label} closes"
    last = close.size - 1
    value = float(sma[last]) if last >= 0 else math.nan
    if math.isnan(value):
        return SmaState(period, None, "warming_up", 0, None, None, method)
    close_last = float(close[last])
    above = close_last >= value
    # on this side (a NaN SMA compares False: warm-up is never on a side); the last candle
    # is, so the first False from the end is the last candle on the other side (or with no
    # SMA yet), and none means every candle was on this side
    side = close >= sma if above else close < sma
    i = last - int(side[::-1].argmin())
    if i == last:
        i = -1
    n = last - i
    crossed = n == 1 and i >= 0 and not math.isnan(sma[i])
    if crossed:
        state = "crossed_above" if above else "crossed_below"
    else:
        state = "above" if above else "below"
    return SmaState(
        period=period,
        value=value,
        state=state,
        closes=n,
        distance_pct=(close_last / value - 1.0) * 100.0,
        latest_side="above" if latest >= value else "below",
        method=method,
    )


_RANK = {k: i for i, k in enumerate(HEADLINE_ORDER)}


def _rank(kind: str) -> int:
    return _RANK.get(kind, len(HEADLINE_ORDER))


def flatten(levels: tuple[Level, ...]) -> list[LevelCandidate]:
    """The candidates behind ladder rows (each headline and its ``grouped`` levels)."""
    out = []
    for row in levels:
        for lv in (row, *row.grouped):
            t = None if lv.time is None else int(lv.time.timestamp() * 1000)
            out.append(LevelCandidate(lv.price, lv.kind, lv.label, lv.source, t))
    return out


def _level(c: LevelCandidate, price: float, grouped: tuple[Level, ...]) -> Level:
    """The :class:`Level` of candidate ``c`` on the ladder around ``price``. The frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__``; filling the new
    instance's dict gives the same object (equality, hash, repr and the JSON views read the
    fields; tests/test_levels.py checks it against ``Level(...)``) without those calls, and
    a ladder makes a few dozen levels per series."""
    level, kind, label, source, time_ms = c
    lv = _new(Level)
    d = lv.__dict__
    d["price"] = p = float(level)
    d["kind"] = kind
    d["label"] = label
    d["source"] = source
    d["distance_pct"] = (p / price - 1.0) * 100.0
    d["side"] = "above" if level > price else "below"
    d["time"] = None if time_ms is None else utc_time(time_ms)
    d["grouped"] = grouped
    return lv


_new = object.__new__


def ladder(price: float, candidates: Iterable[LevelCandidate], per_side: int,
           group_within: float = 0.0) -> tuple[Level, ...]:
    """Levels nearest the price, ``per_side`` rows above and below, nearest first.

    Exact repeats among the ``candidates`` (same price and label) count once. **Grouping
    rule:** sorted by price, a row takes every level at most ``group_within`` (price units)
    above the lowest level of the row; its headline is the member whose kind comes first in
    :data:`HEADLINE_ORDER` (then the one nearest the price), the others go into
    ``grouped``. A row's side is its headline's; a level equal to the price counts as below.
    """
    isfinite = math.isfinite
    last = len(HEADLINE_ORDER)
    rank = _RANK.get
    # labels rarely repeat: the prices are rounded (to find exact repeats) only for a label
    # seen before
    keys: list[tuple[float, int, str, LevelCandidate]] = []  # (price, rank, label, candidate)
    by_label: dict[str, list[float]] = {}
    for c in candidates:
        p, kind, label, _, _ = c
        if p is None or not (p > 0 and isfinite(p)):
            continue
        prices = by_label.get(label)
        if prices is None:
            by_label[label] = [p]
        else:
            r = round(p, 10)
            if any(round(q, 10) == r for q in prices):
                continue
            prices.append(p)
        keys.append((p, rank(kind, last), label, c))
    keys.sort()  # no two tie on (price, headline rank, label): candidates are never compared
    kept = [c for _, _, _, c in keys]
    tol = group_within if isfinite(group_within) and group_within > 0 else 0.0

    groups: list[list[LevelCandidate]] = []  # each row's candidates, its headline first
    i, n = 0, len(kept)
    while i < n:
        lowest, j = kept[i].price, i + 1
        while j < n and kept[j].price - lowest <= tol:
            j += 1
        groups.append(kept[i:j] if j == i + 1 else
                      sorted(kept[i:j], key=lambda c: (rank(c.kind, last), abs(c.price - price))))
        i = j
    # rows are made only for the groups kept (nearest per_side on each side by headline);
    # every level of a group is below every level of the next, so the headlines ascend
    above = [g for g in groups if g[0].price > price][:per_side]
    below = [g for g in groups if g[0].price <= price][::-1][:per_side]
    rows = [_level(g[0], price,
                   tuple([_level(c, price, ()) for c in g[1:]]) if len(g) > 1 else ())
            for g in above + below]
    rows.sort(key=_distance)
    return tuple(rows)


def _distance(lv: Level) -> float:
    return abs(lv.distance_pct)
