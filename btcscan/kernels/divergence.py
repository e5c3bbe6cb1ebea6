"""RSI divergences, TradingView's built-in rules, reported at the bar they become knowable.

Pivots are found **on the RSI** (default left=5, right=5; earliest of equal values wins,
windows holding NaN give no pivot -- see :mod:`btcscan.kernels.pivots`). When an RSI pivot
low at bar ``i`` is confirmed (bar ``i + right``), it is compared with the most recent
earlier RSI pivot low ``j``; if ``min_bars <= i - j <= max_bars`` (default 5..60):

* regular bullish: price lower low (``low[i] < low[j]``), RSI higher low;
* hidden bullish: price higher low, RSI lower low.

Pivot highs mirror this with ``high``: regular bearish = price higher high, RSI lower high;
hidden bearish = price lower high, RSI higher high. Every record is known at ``i + right``
and uses no bar after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from btcscan.kernels._jit import f64, jit
from btcscan.kernels.pivots import pivot_lists

if TYPE_CHECKING:  # kernels never import the patterns package at run time
    from btcscan.patterns.params import PatternParams

REGULAR_BEARISH, REGULAR_BULLISH, HIDDEN_BEARISH, HIDDEN_BULLISH = 1, 2, 3, 4
#: one divergence as :func:`divergences` returns it: its kind, the earlier and the later
#: RSI pivot bar, and the bar at which it became known (later pivot + right)
DIVERGENCE_DTYPE = np.dtype([("kind", np.int64), ("first", np.int64), ("second", np.int64),
                             ("known", np.int64)])


class DivergenceRules(NamedTuple):
    """TradingView's divergence settings as the kernel reads them (:func:`divergences`
    builds one from :class:`btcscan.patterns.PatternParams`)."""

    left: int
    right: int
    min_bars: int
    max_bars: int
    hidden: int  # 1: also hidden divergences


@jit(inline="always")
def _kind(bearish, price_i, price_j, rsi_i, rsi_j, hidden):
    """The divergence between the pivots ``j`` (earlier) and ``i`` of one side, or 0: the
    four rules of the module docstring, stated once (lows mirror highs)."""
    if bearish:
        if price_i > price_j and rsi_i < rsi_j:
            return REGULAR_BEARISH
        if hidden and price_i < price_j and rsi_i > rsi_j:
            return HIDDEN_BEARISH
        return 0
    if price_i < price_j and rsi_i > rsi_j:
        return REGULAR_BULLISH
    if hidden and price_i > price_j and rsi_i < rsi_j:
        return HIDDEN_BULLISH
    return 0


@jit
def _divergences_into(rsi, high, low, rules, ih, il, out):
    """Fill ``out`` (rows of :data:`DIVERGENCE_DTYPE`) and return the count, from the RSI
    pivot highs ``ih`` and lows ``il`` (bars, increasing). Pivots of each side are compared
    with the one before them on that side, visited in bar order (a high before a low on the
    same bar)."""
    nh = ih.shape[0]
    nl = il.shape[0]
    hidden = rules.hidden != 0
    p = 0
    q = 0
    k = 0
    while p < nh or q < nl:
        bearish = q >= nl or (p < nh and ih[p] <= il[q])
        if bearish:  # scalars only below: selecting between arrays here costs half the scan
            r = p
            p += 1
            if r == 0:
                continue
            i, j = ih[r], ih[r - 1]
            price_i, price_j = high[i], high[j]
        else:
            r = q
            q += 1
            if r == 0:
                continue
            i, j = il[r], il[r - 1]
            price_i, price_j = low[i], low[j]
        if rules.min_bars <= i - j <= rules.max_bars:
            kind = _kind(bearish, price_i, price_j, rsi[i], rsi[j], hidden)
            if kind > 0:
                rec = out[k]
                rec.kind = kind
                rec.first = j
                rec.second = i
                rec.known = i + rules.right
                k += 1
    return k


def divergence_rules(params: PatternParams) -> DivergenceRules:
    """The kernel's :class:`DivergenceRules` from ``params`` (``div_pivot_left/right``,
    ``div_min_bars``, ``div_max_bars``, ``include_hidden``), checked."""
    rules = DivergenceRules(int(params.div_pivot_left), int(params.div_pivot_right),
                            int(params.div_min_bars), int(params.div_max_bars),
                            int(bool(params.include_hidden)))
    if rules.left < 1 or rules.right < 1:
        raise ValueError("left/right must be >= 1")
    return rules


def divergences(rsi, high, low, params: PatternParams) -> np.ndarray:
    """Divergence records: a structured array of :data:`DIVERGENCE_DTYPE` (``kind``,
    ``first`` and ``second`` pivot bars, ``known`` bar).

    ``params`` is a :class:`btcscan.patterns.PatternParams` (see :func:`divergence_rules`).

    ``kind`` is one of ``REGULAR_BEARISH``, ``REGULAR_BULLISH``, ``HIDDEN_BEARISH``,
    ``HIDDEN_BULLISH``; rows are in the order they became known.
    """
    r, h, lo = f64(rsi), f64(high), f64(low)
    if r.ndim != 1 or not (r.shape == h.shape == lo.shape):
        raise ValueError("rsi, high and low must be one-dimensional with the same length")
    rules = divergence_rules(params)
    # the pivot finder is called from here, not from the kernel: a kernel calling it would
    # compile the finder's machine code a second time, into its own
    ih, nh, il, nl = pivot_lists(r, r, rules.left, rules.right)
    return divergences_between(r, h, lo, rules, ih[:nh], il[:nl])


def divergences_between(rsi: np.ndarray, high: np.ndarray, low: np.ndarray,
                        rules: DivergenceRules, ih: np.ndarray, il: np.ndarray) -> np.ndarray:
    """The records of :func:`divergences` from the RSI pivot highs ``ih`` and lows ``il``
    (int64 bars, increasing; inputs as :func:`divergences` normalises them)."""
    out = np.empty(ih.shape[0] + il.shape[0], dtype=DIVERGENCE_DTYPE)  # one per pivot at most
    k = _divergences_into(rsi, high, low, rules, ih, il, out)
    return out[:k]  # a view: the unused rows (pivots without a divergence) cost less than a copy
