"""Divergence records from the kernel -> :class:`Divergence` objects and events."""

from __future__ import annotations

import numpy as np

from btcscan.kernels import divergence as kd
from btcscan.patterns import _fmt
from btcscan.patterns.types import Divergence, Event, Level

_KINDS = {kd.REGULAR_BEARISH: "regular_bearish", kd.REGULAR_BULLISH: "regular_bullish",
          kd.HIDDEN_BEARISH: "hidden_bearish", kd.HIDDEN_BULLISH: "hidden_bullish"}


def find_divergences(high: np.ndarray, low: np.ndarray, rsi: np.ndarray, times_ms: np.ndarray,
                     rec: np.ndarray, close: np.ndarray | None = None) -> list[Divergence]:
    """Every RSI divergence of the records ``rec`` (of
    :func:`btcscan.kernels.divergence.divergences` over these bars), in the order they
    became known. Prices are the highs (bearish) or lows (bullish) at the two RSI pivot
    bars; ``close`` gives each its ``known_at_close``."""
    out = []
    for kind, j, i, t in rec.tolist():
        px = high if kind in (kd.REGULAR_BEARISH, kd.HIDDEN_BEARISH) else low
        out.append(Divergence(
            kind=_KINDS[kind], first_bar=j, first_ms=int(times_ms[j]), first_price=float(px[j]),
            first_rsi=float(rsi[j]), second_bar=i, second_ms=int(times_ms[i]),
            second_price=float(px[i]), second_rsi=float(rsi[i]), known_at_bar=t,
            known_at_ms=int(times_ms[t]),
            known_at_close=float("nan") if close is None else float(close[t])))
    return out


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
