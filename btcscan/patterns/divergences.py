"""Divergence records from the kernel -> :class:`Divergence` objects and events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from btcscan.kernels import divergence as kd
from btcscan.patterns import _fmt
from btcscan.patterns.types import Divergence, Event, Level

_KINDS = {kd.REGULAR_BEARISH: "regular_bearish", kd.REGULAR_BULLISH: "regular_bullish",
          kd.HIDDEN_BEARISH: "hidden_bearish", kd.HIDDEN_BULLISH: "hidden_bullish"}


class DivergenceRows(NamedTuple):
    """The divergence kernel's records with the candle values they point at, gathered when
    the scan ends so that :func:`divergences_of` can build the objects later without the
    candles. Prices are the highs (bearish) or lows (bullish) at the two RSI pivot bars."""

    rec: np.ndarray  # btcscan.kernels.divergence.divergences records
    first_ms: np.ndarray
    first_price: np.ndarray
    first_rsi: np.ndarray
    second_ms: np.ndarray
    second_price: np.ndarray
    second_rsi: np.ndarray
    known_ms: np.ndarray
    known_close: np.ndarray


def divergence_rows(high: np.ndarray, low: np.ndarray, close: np.ndarray, rsi: np.ndarray,
                    times_ms: np.ndarray, rec: np.ndarray) -> DivergenceRows:
    """:class:`DivergenceRows` of the records ``rec`` (of
    :func:`btcscan.kernels.divergence.divergences` over these bars)."""
    j, i, t = rec["first"], rec["second"], rec["known"]
    kind = rec["kind"]
    bear = (kind == kd.REGULAR_BEARISH) | (kind == kd.HIDDEN_BEARISH)
    return DivergenceRows(rec, times_ms[j], np.where(bear, high[j], low[j]), rsi[j],
                          times_ms[i], np.where(bear, high[i], low[i]), rsi[i],
                          times_ms[t], close[t])


def divergences_of(rows: DivergenceRows, which: Sequence[int]) -> list[Divergence]:
    """The divergences of records ``which`` (indices into ``rows.rec``)."""
    idx = np.asarray(which, dtype=np.int64)
    cols = [a[idx].tolist() for a in rows[1:]]
    return [Divergence(kind=_KINDS[kind], first_bar=j, first_ms=j_ms, first_price=j_px,
                       first_rsi=j_rsi, second_bar=i, second_ms=i_ms, second_price=i_px,
                       second_rsi=i_rsi, known_at_bar=t, known_at_ms=t_ms,
                       known_at_close=t_close)
            for (kind, j, i, t), j_ms, j_px, j_rsi, i_ms, i_px, i_rsi, t_ms, t_close
            in zip(rows.rec[idx].tolist(), *cols, strict=True)]


def describe(d: Divergence) -> str:
    """One line an analyst would write, e.g. "Regular bearish RSI divergence: price higher
    high 99,000 (2024-12-16) -> 109,000 (2025-01-20), RSI 72.1 -> 65.3"."""
    bear = d.kind.endswith("bearish")
    hidden = d.kind.startswith("hidden")
    side = "high" if bear else "low"
    p_dir = ("higher" if d.second_price > d.first_price else "lower") + f" {side}"
    r_dir = ("higher" if d.second_rsi > d.first_rsi else "lower") + f" {side}"
    label = f"{'Hidden' if hidden else 'Regular'} {'bearish' if bear else 'bullish'}"
    return (f"{label} RSI divergence: price {p_dir} {_fmt.price(d.first_price)} "
            f"({_fmt.when(d.first_ms)}) -> {_fmt.price(d.second_price)} "
            f"({_fmt.when(d.second_ms)}), "
            f"RSI {r_dir} {d.first_rsi:.1f} -> {d.second_rsi:.1f}")


def divergence_event(d: Divergence) -> Event:
    return Event(kind=f"divergence_{d.kind}", known_at_bar=d.known_at_bar,
                 known_at_ms=d.known_at_ms, summary=describe(d),
                 levels=(Level(d.second_price, "divergence_pivot",
                               f"{d.kind.replace('_', ' ')} divergence pivot "
                               f"{_fmt.when(d.second_ms)}"),))
