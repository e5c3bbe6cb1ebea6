"""Many markets in one table, sorted so what matters comes first.

Order (:func:`rank`): markets with new signals (under ``--new-only``: not reported before;
otherwise every signal on the recent closed candles counts as new) first, then those with
more confirmed signals (facts on closed candles), then the nearest level (smallest distance
from the latest price), then the market's name. The summary table uses this order; JSON,
NDJSON and CSV keep the scan's order (the watchlist's, grouped by exchange and timeframe).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from btcscan.models import ScanResult, SeriesReport, Signal


def _key(r: SeriesReport) -> tuple[str, str]:
    return (r.source.label, r.timeframe)


def rank(result: ScanResult, shown: Iterable[Signal] = (),
         confirmed: Iterable[Signal] = ()) -> ScanResult:
    """``result`` with its series sorted: new signals, confirmed signals, nearest level."""
    from dataclasses import replace

    new: dict[tuple[str, str], int] = {}
    for s in shown:
        new[(s.market, s.timeframe)] = new.get((s.market, s.timeframe), 0) + 1
    conf: dict[tuple[str, str], int] = {}
    for s in confirmed:
        conf[(s.market, s.timeframe)] = conf.get((s.market, s.timeframe), 0) + 1

    def key(r: SeriesReport) -> tuple:
        near = abs(r.levels[0].distance_pct) if r.levels else math.inf
        return (-new.get(_key(r), 0), -conf.get(_key(r), 0), near, r.source.label, r.timeframe)

    return replace(result, series=tuple(sorted(result.series, key=key)))


def _price(x: float | None) -> str:
    from btcscan.render.table import price

    return price(x)


def render_summary(result: ScanResult, shown: tuple[Signal, ...], console: Console) -> None:
    """One row per market (in the result's order), then one line per failed market."""
    from btcscan.render.table import pct

    by: dict[tuple[str, str], list[Signal]] = {}
    for s in shown:
        by.setdefault((s.market, s.timeframe), []).append(s)
    n, failed = len(result.series), len(result.errors)
    tab = Table(title=f"{n} market(s) scanned" + (f", {failed} failed" if failed else "")
                + " - signals first, then the nearest level",
                title_justify="left", box=None, padding=(0, 1), show_edge=False)
    for col, just in (("market", "left"), ("tf", "left"), ("close", "right"),
                      ("RSI", "right"), ("from ATH", "right"), ("signals", "left"),
                      ("nearest level", "left"), ("dist", "right")):
        wrap = col in ("signals", "nearest level")  # the rest never wraps nor truncates
        tab.add_column(col, justify=just, no_wrap=not wrap,
                       ratio=1 if wrap else None)
    for r in result.series:
        sig = by.get(_key(r), [])
        lv = r.levels[0] if r.levels else None
        kinds = ", ".join(dict.fromkeys(s.kind for s in sig)) or "-"
        tab.add_row(
            f"{r.source.exchange + ':' if r.source.exchange else ''}{r.source.symbol}",
            r.timeframe, _price(r.last_closed.close),
            "n/a" if r.rsi.value is None else f"{r.rsi.value:.1f}", pct(r.drawdown_pct),
            Text(kinds, style="bold" if sig else ""),
            lv.label if lv else "-", pct(lv.distance_pct) if lv else "-")
    console.print(tab)
    for e in result.errors:
        console.print(Text(f"failed: {e.get('source')}: {e.get('error')}", style="red"))
