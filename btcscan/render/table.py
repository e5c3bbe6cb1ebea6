"""The terminal report (rich). The console is passed in, so tests render to a string."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from btcscan.models import ScanResult, SeriesReport, SmaState

_STATE_TEXT = {
    "above": "above",
    "below": "below",
    "crossed_below": "crossed below on the last close",
    "crossed_above": "crossed above on the last close",
    "warming_up": "not enough candles yet",
}


def price(x: float | None) -> str:
    """Prices with thousands separators and sensible decimals (BTC 75,737; DOGE 0.1234)."""
    if x is None:
        return "n/a"
    ax = abs(x)
    decimals = 0 if ax >= 1000 else 2 if ax >= 1 else 4 if ax >= 0.01 else 8
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
        ladder.add_row("resistance" if lv.side == "above" else "support", price(lv.price),
                       pct(lv.distance_pct), lv.label, lv.source)

    parts: list = [head, Text(""), Text(f"SMA supports ({tf_label} closes)", style="bold"), smas,
                   Text(""), ladder]
    if r.patterns is not None:
        from btcscan.render.signals import signals_section

        parts += [Text(""), *signals_section(r.patterns, r.latest.price, tf_label, events=events)]
    if r.notes:
        parts += [Text(""), Text("Notes", style="bold")]
        parts += [Text(f"- {n}") for n in r.notes]
    if r.warnings:
        parts += [Text(""), Text("Warnings", style="bold yellow")]
        parts += [Text(f"- {w}", style="yellow") for w in r.warnings]
    title = f"{r.source.symbol} · {tf_label} · {r.source.label}"
    return Panel(Group(*parts), title=title, title_align="left", expand=True)


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
