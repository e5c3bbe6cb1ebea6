"""Views of :class:`btcscan.stats.types.StatsResult`: a rich table per market (and pooled),
and the JSON document (schema: ``btcscan/schemas/stats.schema.json``)."""

from __future__ import annotations

import json
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from btcscan.render.serial import to_jsonable
from btcscan.render.table import fitted_tables, hang, when
from btcscan.stats.bulkowski import bulkowski_text
from btcscan.stats.types import ChanceFamily, KindStats, ScanStats, SeriesStats, StatsResult


def _num(x: float | None, fmt: str = "{:.1f}") -> str:
    return "-" if x is None else fmt.format(x)


def _targets(k: KindStats) -> str:
    if not k.targets:
        return "-"
    parts = []
    for t in k.targets:
        med = f", median {t.median_bars:g}" if t.median_bars is not None else ""
        parts.append(f"{t.rule} {t.reached}/{t.events_with_target}{med}")
    return "; ".join(parts)


def kinds_table(kinds: tuple[KindStats, ...], title: str, unit: str, *,
                markets: bool = False, console: Console | None = None,
                width: int | None = None) -> list[Table]:
    """One row per kind of event, laid out for ``width`` (default: the console's) without
    cutting a word: split into several tables, each led by the event, when it cannot fit."""
    reached = f"targets reached (median {unit})"
    cols = ["event", "n", "open", "resolved", reached, "1st target", "invalid.", "expired",
            "failed <5%", "median MAE", "worst MAE", f"median {unit} to 1st"]
    if markets:
        cols.insert(1, "markets")
    rows = []
    for k in kinds:
        row = [k.label, str(k.events), str(k.open), str(k.resolved), _targets(k),
               str(k.reached_first_target), str(k.invalidated), str(k.expired), str(k.failed),
               _num(k.median_mae_pct, "{:+.1f}%"), _num(k.worst_mae_pct, "{:+.1f}%"),
               _num(k.median_bars_to_target, "{:g}")]
        if markets:
            row.insert(1, str(k.markets))
        rows.append(row)
    console = console or Console(width=width or 200, color_system=None)
    return fitted_tables(title, [(c, "left" if c in ("event", reached) else "right")
                                 for c in cols], rows, console, width or console.width)


#: short names of the measures in the table (full wording: ``ChanceTest.label``)
_MEASURE_SHORT = {"reached_target": "reached 1st target", "median_return_pct": "median return",
                  "hit_rate": "in profit"}


def _pct(measure: str, x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:+.1f}%" if measure == "median_return_pct" else f"{x:.0f}%"


def _p(x: float | None) -> str:
    return "-" if x is None else f"{x:.2g}"


def chance_table(kinds: tuple[KindStats, ...], fam: ChanceFamily, horizon: int,
                 title: str, console: Console) -> list:
    """Each kind's measures beside random entries, with raw and Holm-adjusted p, laid out
    for the console's width (no word cut), and the caption saying how it was measured."""
    cols = [(c, "right" if 2 <= i <= 6 else "left") for i, c in enumerate(
        ("event", "measure", "n", "events", "random", "p", "p Holm", "verdict"))]
    rows = [[k.label if i == 0 else "", _MEASURE_SHORT.get(c.measure, c.measure),
             str(c.events), _pct(c.measure, c.value), _pct(c.measure, c.random),
             _p(c.p_value), _p(c.p_holm), c.verdict]
            for k in kinds for i, c in enumerate(k.chance)]
    head = (f"{title}: {fam.tests} tests, {fam.significant} significant after "
            f"{fam.correction} at {fam.alpha:.0%}")
    caption = (f"n: events measured, one position at a time (none within {horizon} candles "
               f"after a measured one); returns {horizon} candles after the entry, in the "
               f"signal's direction; random: the same events moved by {fam.shifts:,} circular "
               f"shifts (seed {fam.seed}); p two-sided")
    return [*fitted_tables(head, cols, rows, console, console.width, keep=2),
            hang(caption, prefix="  ", style="dim")]


def _unit(timeframe: str) -> str:
    from btcscan.stats.rules import unit_of
    from btcscan.timeframes import parse_timeframe

    return unit_of(parse_timeframe(timeframe))


def scan_stats_parts(st: ScanStats) -> list:
    """The scan report's lines beside the active signals: btcscan's walk-forward figure and
    Bulkowski's published one, each with its source."""
    parts: list = [Text(f"How these signals did before (walk-forward, horizon {st.horizon_bars} "
                        "candles)", style="bold")]
    if not st.lines:
        parts.append(Text("  no active wedge break, RSI divergence or SMA cross"))
    for ln in st.lines:
        parts.append(hang(f"{ln.signal_kind}: {ln.text} [{ln.source}]", prefix="  "))
        if ln.chance_text:
            parts.append(hang(f"vs chance: {ln.chance_text}", prefix="    "))
        parts.append(hang(f"published: {ln.bulkowski_text}" if ln.bulkowski_text else
                          "published: none (Bulkowski's tables cover chart patterns, not "
                          "this signal)", prefix="    ", style="dim"))
    return parts


def render_stats(result: StatsResult, console: Console, *, events: bool = False) -> None:
    """Per market: the kinds table with its source; pooled when several; the rules."""
    for s in result.series:
        unit = _unit(s.timeframe)
        for t in kinds_table(
                s.kinds, f"{s.symbol} {s.timeframe}: {len(s.events)} events scored, "
                         f"{s.candles} candles {when(s.first_candle)}..{when(s.last_candle)}, "
                         f"horizon {s.horizon_bars} candles", unit, console=console):
            console.print(t)
        console.print(hang(f"source: {s.source} ({s.market})", prefix="  ", style="dim"))
        if s.chance is not None:
            for t in chance_table(s.kinds, s.chance, s.horizon_bars,
                                  f"{s.symbol} against chance", console):
                console.print(t)
        if events:
            for t in events_table(s, console):
                console.print(t)
        console.print(Text(""))
    if len(result.series) > 1:
        unit = _unit(result.series[0].timeframe)
        for t in kinds_table(result.pooled, f"Pooled over {len(result.series)} markets "
                             f"({', '.join(s.symbol for s in result.series)})", unit,
                             markets=True, console=console):
            console.print(t)
        if result.pooled_chance is not None:
            for t in chance_table(result.pooled, result.pooled_chance,
                                  result.series[0].horizon_bars, "Pooled against chance",
                                  console):
                console.print(t)
        console.print(Text(""))
    shown = {k.kind for s in result.series for k in s.kinds}
    refs = [bulkowski_text(k) for k in sorted(shown)]
    if any(refs):
        console.print(Text("Published reference (not crypto):", style="bold"))
        for r in refs:
            if r:
                console.print(hang(r, prefix="  "))
    console.print(Text("Rules:", style="bold"))
    for r in result.rules:
        console.print(hang(r, prefix="  - ", style="dim"))
    for e in result.errors:
        console.print(Text(f"failed: {e.get('source')}: {e.get('error')}", style="red"))


def events_table(s: SeriesStats, console: Console | None = None) -> list[Table]:
    """Every scored event of one series: when it became known, entry, targets, outcome;
    split like :func:`kinds_table` when it cannot fit the console."""
    from btcscan.render.table import price

    cols = ["known at", "event", "dir", "entry", "targets (candles to reach)", "invalidation",
            "outcome", "candles", "MAE", "MFE", "failed"]
    rows = []
    for e in s.events:
        tg = "; ".join(f"{t.rule} {price(t.price)}"
                       + (f" ({t.bars_to_reach})" if t.bars_to_reach is not None else "")
                       for t in e.targets) or "-"
        rows.append([when(e.known_at), e.kind.replace("_", " "), e.direction, price(e.entry), tg,
                     price(e.invalidation), e.outcome.replace("_", " "),
                     "-" if e.bars_to_outcome is None else str(e.bars_to_outcome),
                     f"{e.mae_pct:+.1f}%", f"{e.mfe_pct:+.1f}%", "yes" if e.failed else "no"])
    console = console or Console(width=200, color_system=None)
    return fitted_tables(f"Scored events ({len(s.events)})", [(c, "left") for c in cols], rows,
                         console, console.width, keep=2)


def stats_dict(result: StatsResult) -> dict:
    d = to_jsonable(result)
    return {"schema_version": d.pop("schema_version"), **d}


def write_stats_json(result: StatsResult, out: TextIO) -> None:
    json.dump(stats_dict(result), out, indent=2, allow_nan=False)
    out.write("\n")


def stats_schema() -> dict:
    from importlib import resources

    return json.loads(resources.files("btcscan").joinpath("schemas", "stats.schema.json")
                      .read_text(encoding="utf-8"))
