"""Views of :class:`btcscan.stats.types.StatsResult`: a rich table per market (and pooled),
and the JSON document (schema: ``btcscan/schemas/stats.schema.json``)."""

from __future__ import annotations

import json
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from btcscan.render.serial import to_jsonable
from btcscan.render.table import when
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
                markets: bool = False) -> Table:
    """One row per kind of event."""
    t = Table(title=title, title_justify="left", box=None, padding=(0, 1))
    cols = ["event", "n", "open", "resolved", f"targets reached (median {unit})", "1st target",
            "invalid.", "expired", "failed <5%", "median MAE", "worst MAE",
            f"median {unit} to 1st"]
    if markets:
        cols.insert(1, "markets")
    for i, c in enumerate(cols):
        t.add_column(c, justify="left" if i in (0, cols.index(f"targets reached (median {unit})"))
                     else "right")
    for k in kinds:
        row = [k.label, str(k.events), str(k.open), str(k.resolved), _targets(k),
               str(k.reached_first_target), str(k.invalidated), str(k.expired), str(k.failed),
               _num(k.median_mae_pct, "{:+.1f}%"), _num(k.worst_mae_pct, "{:+.1f}%"),
               _num(k.median_bars_to_target, "{:g}")]
        if markets:
            row.insert(1, str(k.markets))
        t.add_row(*row)
    return t


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
                 title: str) -> Table:
    """Each kind's measures beside random entries, with raw and Holm-adjusted p."""
    t = Table(title=f"{title}: {fam.tests} tests, {fam.significant} significant after "
                    f"{fam.correction} at {fam.alpha:.0%}",
              caption=f"n: events measured, one position at a time (none within {horizon} "
                      f"candles after a measured one); returns {horizon} candles after the "
                      f"entry, in the signal's direction; random: the same events moved by "
                      f"{fam.shifts:,} circular shifts (seed {fam.seed}); p two-sided",
              title_justify="left", caption_justify="left", box=None, padding=(0, 1))
    for i, c in enumerate(("event", "measure", "n", "events", "random", "p", "p Holm",
                           "verdict")):
        t.add_column(c, justify="right" if 2 <= i <= 6 else "left")
    for k in kinds:
        for i, c in enumerate(k.chance):
            t.add_row(k.label if i == 0 else "", _MEASURE_SHORT.get(c.measure, c.measure),
                      str(c.events), _pct(c.measure, c.value), _pct(c.measure, c.random),
                      _p(c.p_value), _p(c.p_holm),
                      c.verdict)
    return t


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
        parts.append(Text(f"  {ln.signal_kind}: {ln.text} [{ln.source}]"))
        if ln.chance_text:
            parts.append(Text(f"    vs chance: {ln.chance_text}"))
        parts.append(Text(f"    published: {ln.bulkowski_text}" if ln.bulkowski_text else
                          "    published: none (Bulkowski's tables cover chart patterns, not "
                          "this signal)", style="dim"))
    return parts


def render_stats(result: StatsResult, console: Console, *, events: bool = False) -> None:
    """Per market: the kinds table with its source; pooled when several; the rules."""
    for s in result.series:
        unit = _unit(s.timeframe)
        console.print(kinds_table(
            s.kinds, f"{s.symbol} {s.timeframe}: {len(s.events)} events scored, "
                     f"{s.candles} candles {when(s.first_candle)}..{when(s.last_candle)}, "
                     f"horizon {s.horizon_bars} candles", unit))
        console.print(Text(f"  source: {s.source} ({s.market})", style="dim"))
        if s.chance is not None:
            console.print(chance_table(s.kinds, s.chance, s.horizon_bars,
                                       f"{s.symbol} against chance"))
        if events:
            console.print(events_table(s))
        console.print(Text(""))
    if len(result.series) > 1:
        unit = _unit(result.series[0].timeframe)
        console.print(kinds_table(result.pooled, f"Pooled over {len(result.series)} markets "
                                  f"({', '.join(s.symbol for s in result.series)})", unit,
                                  markets=True))
        if result.pooled_chance is not None:
            console.print(chance_table(result.pooled, result.pooled_chance,
                                       result.series[0].horizon_bars, "Pooled against chance"))
        console.print(Text(""))
    shown = {k.kind for s in result.series for k in s.kinds}
    refs = [bulkowski_text(k) for k in sorted(shown)]
    if any(refs):
        console.print(Text("Published reference (not crypto):", style="bold"))
        for r in refs:
            if r:
                console.print(Text(f"  {r}"))
    console.print(Text("Rules:", style="bold"))
    for r in result.rules:
        console.print(Text(f"  - {r}", style="dim"))
    for e in result.errors:
        console.print(Text(f"failed: {e.get('source')}: {e.get('error')}", style="red"))


def events_table(s: SeriesStats) -> Table:
    """Every scored event of one series: when it became known, entry, targets, outcome."""
    t = Table(title=f"Scored events ({len(s.events)})", title_justify="left", box=None,
              padding=(0, 1))
    for c in ("known at", "event", "dir", "entry", "targets (candles to reach)", "invalidation",
              "outcome", "candles", "MAE", "MFE", "failed"):
        t.add_column(c)
    from btcscan.render.table import price

    for e in s.events:
        tg = "; ".join(f"{t.rule} {price(t.price)}"
                       + (f" ({t.bars_to_reach})" if t.bars_to_reach is not None else "")
                       for t in e.targets) or "-"
        t.add_row(when(e.known_at), e.kind.replace("_", " "), e.direction, price(e.entry), tg,
                  price(e.invalidation), e.outcome.replace("_", " "),
                  "-" if e.bars_to_outcome is None else str(e.bars_to_outcome),
                  f"{e.mae_pct:+.1f}%", f"{e.mfe_pct:+.1f}%", "yes" if e.failed else "no")
    return t


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
