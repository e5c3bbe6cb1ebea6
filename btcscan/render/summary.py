"""Many markets in one table, sorted so what matters comes first.

Order (:func:`rank`): markets with new signals (under ``--new-only``: not reported before;
otherwise every signal on the recent closed candles counts as new) first, then those with
more confirmed signals (facts on closed candles), then the nearest level (smallest distance
from the latest price), then the market's name. The table's "price" is that latest price,
so each row's "dist" is measured from the price it shows. The summary table uses this order; JSON,
NDJSON and CSV keep the scan's order (the watchlist's, grouped by exchange and timeframe).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from btcscan.models import ScanResult, SeriesReport, Signal

if TYPE_CHECKING:
    from rich.console import Console


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


def summary_lines(result: ScanResult, shown: tuple[Signal, ...]) -> list[str]:
    """The summary as aligned plain-text lines: a title, a header, one row per market (in the
    result's order), then one line per failed market. Rows never wrap (pipe through
    ``less -S`` for a narrow terminal): hundreds of markets stay one line each."""
    from btcscan.render.table import pct, price

    by: dict[tuple[str, str], list[str]] = {}
    for s in shown:
        by.setdefault((s.market, s.timeframe), []).append(s.kind)
    n, failed = len(result.series), len(result.errors)
    # "price" is the latest price: the one every level's "dist" (and the ranking) is measured
    # from (a weekly row's last closed candle can be days older)
    head = ("market", "tf", "price", "RSI", "from ATH", "signals", "nearest level", "dist")
    right = (False, False, True, True, True, False, False, True)
    rows = [head]
    for r in result.series:
        lv = r.levels[0] if r.levels else None
        rows.append((
            f"{r.source.exchange + ':' if r.source.exchange else ''}{r.source.symbol}",
            r.timeframe, price(r.latest.price),
            "n/a" if r.rsi.value is None else f"{r.rsi.value:.1f}", pct(r.drawdown_pct),
            ", ".join(dict.fromkeys(by.get(_key(r), ()))) or "-",
            lv.label if lv else "-", pct(lv.distance_pct) if lv else "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    out = [f"{n} market(s) scanned" + (f", {failed} failed" if failed else "")
           + ": signals first, then the nearest level"]
    for row in rows:
        out.append("  ".join(v.rjust(w) if rj else v.ljust(w)
                             for v, w, rj in zip(row, widths, right, strict=True)).rstrip())
    out += [f"failed: {e.get('source')}: {e.get('error')}" for e in result.errors]
    return out


def render_summary(result: ScanResult, shown: tuple[Signal, ...], console: Console) -> None:
    """:func:`summary_lines` on the console, in one write (no wrapping, no markup)."""
    console.out("\n".join(summary_lines(result, shown)), highlight=False)
