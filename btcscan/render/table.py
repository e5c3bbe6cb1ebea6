"""The terminal report (rich). The console is passed in, so tests render to a string."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from btcscan.models import (
    ConditionResult,
    LongRunContext,
    ScanResult,
    SeriesReport,
    Signal,
    SmaState,
)

_STATE_TEXT = {
    "above": "above",
    "below": "below",
    "crossed_below": "crossed below on the last close",
    "crossed_above": "crossed above on the last close",
    "warming_up": "not enough candles yet",
}


def _decimals(ax: float) -> int:
    return 0 if ax >= 1000 else 2 if ax >= 1 else 4 if ax >= 0.01 else 8


def price(x: float | None, ref: float | None = None) -> str:
    """Prices with thousands separators and sensible decimals (BTC 75,737; DOGE 0.1234);
    with ``ref``, at least as many decimals as ``ref`` gets (a ladder's levels printed
    like its price: ADA at 0.76 shows 1.1650 and 1.1749, not 1.17 twice)."""
    if x is None:
        return "n/a"
    decimals = _decimals(abs(x))
    if ref is not None:
        decimals = max(decimals, _decimals(abs(ref)))
    return f"{x:,.{decimals}f}"


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1f}%"


def when(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if (dt.hour or dt.minute) else dt.strftime("%Y-%m-%d")


def asof_text(dt: datetime) -> str:
    """The scan instant; midnight reads as the end of the previous day."""
    if dt.hour == 0 and dt.minute == 0 and dt.second == 0:
        from datetime import timedelta

        return f"end of {(dt - timedelta(days=1)):%Y-%m-%d} UTC"
    return dt.strftime("%Y-%m-%d %H:%M UTC")


def _sma_line(s: SmaState, tf_label: str, latest: float, tf: str) -> Text:
    t = Text()
    t.append(f"SMA {s.period:<4}", style="bold")
    if s.value is None:
        t.append(" not enough candles yet")
        return t
    t.append(f" {price(s.value):>12}  ")
    state = _STATE_TEXT[s.state]
    style = "red" if "below" in s.state else "green"
    t.append(f"last {tf_label} close {state}", style=style)
    if s.state in ("above", "below"):
        t.append(f" for {s.closes} close{'s' if s.closes != 1 else ''}")
    t.append(f" ({pct(s.distance_pct)})")
    side_closed = "above" if "above" in s.state else "below"
    if s.latest_side and s.latest_side != side_closed:
        t.append(
            f"\n          latest price {price(latest)} is {s.latest_side} it, "
            f"not yet confirmed by a {tf_label} close",
            style="yellow",
        )
    return t


def series_panel(r: SeriesReport, *, events: bool = False) -> Panel:
    tf_label = _tf_label(r.timeframe)
    head = Table.grid(padding=(0, 2))
    head.add_column(style="dim")
    head.add_column()
    lc = r.last_closed
    head.add_row("source", r.source.detail or r.source.label)
    head.add_row("as of", f"{asof_text(r.asof)} (only candles closed by then are used)")
    head.add_row(f"last {tf_label} close",
                 f"{price(lc.close)}  (candle {when(lc.open_time)}, closed {when(lc.close_time)})")
    head.add_row("latest price", f"{price(r.latest.price)}  ({r.latest.method})")
    head.add_row("all-time high", f"{price(r.ath.price)}  ({when(r.ath.time)}; {r.ath.method})")
    head.add_row("drawdown", f"{pct(r.drawdown_pct)} from the all-time high")
    head.add_row("change", f"7d {pct(r.change_7d_pct)}   30d {pct(r.change_30d_pct)}")
    head.add_row(r.rsi.name, f"{_num(r.rsi.value, 1)}  ({r.rsi.method})")
    head.add_row(r.atr.name, f"{price(r.atr.value)}  ({r.atr.method})")

    smas = Text("\n").join(_sma_line(s, tf_label, r.latest.price, r.timeframe) for s in r.smas)

    ladder = Table(title=f"Levels around the latest price {price(r.latest.price)} (nearest first)",
                   title_justify="left", expand=False, box=None, padding=(0, 1))
    ladder.add_column("side")
    ladder.add_column("level", justify="right")
    ladder.add_column("dist", justify="right")
    ladder.add_column("what")
    ladder.add_column("how", style="dim")
    for lv in r.levels:
        ladder.add_row("resistance" if lv.side == "above" else "support",
                       price(lv.price, r.latest.price), pct(lv.distance_pct), lv.label, lv.source)
        for g in lv.grouped:  # nearby levels merged into this row (the ladder's grouping rule)
            ladder.add_row("", price(g.price, r.latest.price), pct(g.distance_pct),
                           f"+ {g.label}", g.source)

    parts: list = [head, Text(""), Text(f"SMA supports ({tf_label} closes)", style="bold"), smas,
                   Text(""), ladder]
    if r.patterns is not None:
        from btcscan.render.signals import signals_section

        parts += [Text(""), *signals_section(r.patterns, r.latest.price, tf_label, events=events)]
    if r.stats is not None:  # walk-forward stats of the active signals (issue #7)
        from btcscan.render.stats import scan_stats_parts

        parts += [Text(""), *scan_stats_parts(r.stats)]
    if r.context is not None:
        parts += [Text("")] + context_parts(r.context)
    if r.notes:
        parts += [Text(""), Text("Notes", style="bold")]
        parts += [Text(f"- {n}") for n in r.notes]
    if r.warnings:
        parts += [Text(""), Text("Warnings", style="bold yellow")]
        parts += [Text(f"- {w}", style="yellow") for w in r.warnings]
    title = f"{r.source.symbol} · {tf_label} · {r.source.label}"
    return Panel(Group(*parts), title=title, title_align="left", expand=True)


def context_parts(ctx: LongRunContext) -> list:
    """The long-run section: power-law fair values with bands, drawdown, past declines."""
    parts: list = [Text("Long-run context", style="bold")]
    for pl in ctx.power_law:
        t = Text()
        t.append(f"power law, {pl.label}: ", style="bold")
        t.append(f"fair {price(pl.fair_value)} (price {pl.price_to_fair:.2f}x fair")
        if pl.residual_sigmas is not None:
            t.append(f", {pl.residual_sigmas:+.2f} sigma")
        t.append(")")
        if pl.bands:
            t.append("; " + ", ".join(f"{b.label} {price(b.price)}" for b in pl.bands))
        t.append(f"\n  log10 A={pl.log10_a:.4f}, n={pl.exponent:.4f}"
                 + (f", sigma={pl.sigma:.3f} (log10), R2={pl.r2:.3f}" if pl.sigma else "")
                 + f"; {pl.source}", style="dim")
        parts.append(t)
    dd = ctx.drawdown
    parts.append(Text(
        f"drawdown {pct(dd.pct)} from the highest close {price(dd.peak.price)} "
        f"({when(dd.peak.time)}, {dd.days_since_peak} days ago); lowest close since "
        f"{price(dd.lowest_since_peak.price)} ({when(dd.lowest_since_peak.time)})"))
    if ctx.declines:
        parts.append(Text(f"Declines: {ctx.decline_rule}", style="dim"))
        tab = Table(box=None, padding=(0, 1))
        for col in ("peak", "close", "trough", "close", "depth", "days", "recovered"):
            tab.add_column(col, justify="right" if col in ("close", "depth", "days") else "left")
        for d in ctx.declines:
            tab.add_row(when(d.peak.time), price(d.peak.price), when(d.trough.time),
                        price(d.trough.price), pct(d.depth_pct), str(d.days_to_trough),
                        "ongoing (lowest so far)" if d.ongoing else
                        f"{when(d.recovered)} ({d.days_to_recover} d)")
        parts.append(tab)
    parts += [Text(f"- {n}", style="dim") for n in ctx.notes]
    return parts


def _num(x: float | None, d: int) -> str:
    return "n/a" if x is None else f"{x:.{d}f}"


def _tf_label(tf: str) -> str:
    from btcscan.timeframes import parse_timeframe

    return parse_timeframe(tf).label()


def render_table(result: ScanResult, console: Console, *, events: bool = False) -> None:
    """Print one panel per series, then any per-market failures. ``events`` adds every
    pattern event over the scanned history."""
    for r in result.series:
        console.print(series_panel(r, events=events))
    for e in result.errors:
        console.print(Text(f"failed: {e.get('source')}: {e.get('error')}", style="red"))


def render_alerts(signals: tuple[Signal, ...], verdicts: tuple[ConditionResult, ...],
                  new_only: bool, console: Console) -> None:
    """Signals (new ones only under ``--new-only``) and ``--fail-on`` verdicts."""
    title = ("Alerts: new signals (not reported before)" if new_only
             else "Alerts: signals on recent closed candles")
    console.print(Text(title, style="bold"))
    if not signals:
        console.print(Text("  none" + (" new" if new_only else "")))
    for s in signals:
        console.print(Text(f"  {when(s.time)}  {s.symbol} {s.timeframe}  {s.kind}: {s.detail}"))
    if verdicts:
        console.print(Text("Conditions (--fail-on)", style="bold"))
        for v in verdicts:
            console.print(Text(f"  {'HOLDS' if v.holds else 'no   '}  {v.condition} on {v.market}: "
                               f"{v.detail}", style="red" if v.holds else ""))
