"""The terminal report (rich). The console is passed in, so tests render to a string."""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len
from rich.console import Console, Group
from rich.measure import Measurement
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


#: Columns of a report inside its panel: the border and one space of padding on each side.
PANEL_FRAME = 4
#: Width the panel is laid out for when no console says (rich's own default).
DEFAULT_WIDTH = 80
SIDE_STYLE = {"above": "red", "below": "green"}  # resistance red, support green


def column_widths(table: Table, console: Console, width: int) -> list[int] | None:
    """Content widths for ``table``'s columns so it spans at most ``width`` cells without
    cutting a word (every column keeps at least its longest word, header included, and the
    widest give way first), or ``None`` when even the longest words do not fit. rich's own
    shrinking takes the widest columns below their longest word and ends them with an
    ellipsis. For borderless tables (``box=None``)."""
    options = console.options.update_width(max(1, width))
    _top, right, _bottom, left = table.padding
    n = len(table.columns)
    pads, lows, highs = [], [], []
    for i, col in enumerate(table.columns):
        pads.append((left if i or table.pad_edge else 0)
                    + (right if i < n - 1 or table.pad_edge else 0))
        ms = [Measurement.get(console, options, c) for c in (col.header, *col.cells)]
        lows.append(max(m.minimum for m in ms))
        highs.append(max(max(m.maximum for m in ms), lows[-1]))
    room = width - sum(pads)
    if sum(lows) > room:
        return None

    def total(cap: int) -> int:
        return sum(max(lo, min(hi, cap)) for lo, hi in zip(lows, highs, strict=True))

    cap = max(highs)
    while total(cap) > room:  # the largest cap on the widest columns that fits
        cap -= 1
    return [max(lo, min(hi, cap)) for lo, hi in zip(lows, highs, strict=True)]


def fit(table: Table, console: Console, width: int) -> bool:
    """Fix ``table``'s column widths from :func:`column_widths`; False (and the table left
    to rich) when its longest words cannot fit in ``width``."""
    widths = column_widths(table, console, width)
    if widths is None:
        return False
    for col, w in zip(table.columns, widths, strict=True):
        col.width = w
    return True


def fitted_tables(title: str, columns: list[tuple[str, str]], rows: list[list], console: Console,
                  width: int, *, keep: int = 1, pad_edge: bool = True) -> list[Table]:
    """A borderless table of ``columns`` ((header, justify) pairs) and ``rows``, laid out for
    ``width`` columns without cutting a word: one table when its longest words fit side by
    side, otherwise several, each repeating the first ``keep`` columns (the row's name) and
    taking as many of the others as fit, in order. ``pad_edge=False`` drops the space
    before the first and after the last column."""

    def build(idx: list[int], head: str) -> Table:
        t = Table(title=head or None, title_justify="left", box=None, padding=(0, 1),
                  pad_edge=pad_edge)
        for i in idx:
            t.add_column(columns[i][0], justify=columns[i][1])
        for row in rows:
            t.add_row(*(row[i] for i in idx))
        return t

    whole = build(list(range(len(columns))), title)
    if fit(whole, console, width):
        return [whole]
    options = console.options.update_width(max(1, width))
    need = []  # a comfortable width per column: its longest word, or up to 16 cells of it
    for col in whole.columns:
        ms = [Measurement.get(console, options, c) for c in (col.header, *col.cells)]
        low = max(m.minimum for m in ms)
        need.append(max(low, min(max(m.maximum for m in ms), 16)) + 2)  # + padding
    base = list(range(keep))
    groups: list[list[int]] = []
    for i in range(keep, len(columns)):
        if groups and sum(need[j] for j in base + groups[-1]) + need[i] <= width:
            groups[-1].append(i)
        else:
            groups.append([i])
    out = []
    for k, g in enumerate(groups):
        more = f"{title.split(':')[0]} (continued)" if title else ""
        t = build(base + g, title if k == 0 else more)
        fit(t, console, width)
        out.append(t)
    return out


def hang(text: Text | str, prefix: str = "- ", style: str | None = None) -> Table:
    """``prefix`` then ``text``, whose wrapped lines stay indented under the text's start."""
    grid = Table.grid()
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")  # a word longer than the line (a path) folds, never cut
    body = text if isinstance(text, Text) else Text(text, style=style or "")
    grid.add_row(Text(prefix, style=style or ""), body)
    return grid


def _hung(text: str, prefix: str, width: int) -> Text | Table:
    """:func:`hang`, or the line as it is when it fits in ``width`` (what the grid prints
    for it, built in a tenth of the time)."""
    line = prefix + text
    return Text(line) if cell_len(line) <= width else hang(text, prefix)


def _sma_rows(smas: tuple[SmaState, ...], tf_label: str, latest: float) -> Table:
    """One row per SMA: name, value, the last close against it; wrapped text stays in its
    column."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    for s in smas:
        if s.value is None:
            grid.add_row(f"SMA {s.period}", "", "not enough candles yet")
            continue
        t = Text()
        state = _STATE_TEXT[s.state]
        t.append(f"last {tf_label} close {state}", style="red" if "below" in s.state
                 else "green")
        if s.state in ("above", "below"):
            t.append(f" for {s.closes} close{'s' if s.closes != 1 else ''}")
        t.append(f" ({pct(s.distance_pct)})")
        grid.add_row(f"SMA {s.period}", price(s.value), t)
        side_closed = "above" if "above" in s.state else "below"
        if s.latest_side and s.latest_side != side_closed:
            grid.add_row("", "", Text(f"latest price {price(latest)} is {s.latest_side} it, "
                                      f"not yet confirmed by a {tf_label} close",
                                      style="yellow"))
    return grid


def ladder_parts(r: SeriesReport, console: Console, width: int) -> list:
    """The level ladder, nearest first, supports green and resistances red. A rule shared
    by many rows is said once: round numbers' and swing pivots' under the table, power-law
    models in the long-run context. When the "how" column cannot fit beside "what" without cutting a
    word, it goes under it."""
    rounds: dict[str, None] = {}
    rows = []

    swings: dict[str, None] = {}

    def how_of(lv) -> str:
        if lv.kind == "round":
            rounds[lv.source] = None
            return ""
        if lv.kind in ("swing_high", "swing_low"):  # "<rule>; confirmed <date>"
            rule, _, confirmed = lv.source.rpartition("; ")
            swings[rule] = None
            return confirmed
        if lv.kind == "power_law" and r.context is not None:
            return "model: see Long-run context"
        return lv.source

    for lv in r.levels:
        style = SIDE_STYLE.get(lv.side, "")
        rows.append((Text("resistance" if lv.side == "above" else "support", style=style),
                     Text(price(lv.price, r.latest.price), style=style), pct(lv.distance_pct),
                     lv.label, how_of(lv)))
        for g in lv.grouped:  # nearby levels merged into this row (the ladder's grouping rule)
            rows.append((Text(""), Text(price(g.price, r.latest.price), style=style),
                         pct(g.distance_pct), f"+ {g.label}", how_of(g)))
    table = None
    for stacked in (False, True):
        table = Table(title=f"Levels around the latest price {price(r.latest.price)} "
                            "(nearest first)", title_justify="left", box=None, padding=(0, 1))
        table.add_column("side", no_wrap=True)
        table.add_column("level", justify="right", no_wrap=True)
        table.add_column("dist", justify="right", no_wrap=True)
        table.add_column("what, how" if stacked else "what")
        if not stacked:
            table.add_column("how", style="dim")
        for side, level, dist, what, how in rows:
            if stacked:
                cell = Text(what)
                if how:
                    cell.append("\n" + how, style="dim")
                table.add_row(side, level, dist, cell)
            else:
                table.add_row(side, level, dist, what, how)
        if fit(table, console, width):
            break
    parts: list = [table]
    if rounds:
        parts.append(hang(f"round numbers: {'; '.join(rounds)}", prefix="  ", style="dim"))
    if swings:
        parts.append(hang(f"swing highs and lows: {'; '.join(swings)}", prefix="  ",
                          style="dim"))
    return parts


def series_panel(r: SeriesReport, *, events: bool = False, console: Console | None = None,
                 declines_ref: str | None = None) -> Panel:
    """One market's report. ``console`` (its width) lays the tables out so that no word is
    cut; ``declines_ref`` names an earlier report whose declines table is the same, so this
    one says so in a line instead of repeating it."""
    console = console or Console(width=DEFAULT_WIDTH, color_system=None)
    width = console.width - PANEL_FRAME
    tf_label = _tf_label(r.timeframe)
    head = Table.grid(padding=(0, 2))
    head.add_column(style="dim", no_wrap=True)
    head.add_column(overflow="fold")  # a long path folds onto the next line, never cut
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

    parts: list = [head, Text(""), Text(f"SMA supports ({tf_label} closes)", style="bold"),
                   _sma_rows(r.smas, tf_label, r.latest.price), Text(""),
                   *ladder_parts(r, console, width)]
    if r.patterns is not None:
        from btcscan.render.signals import signals_section

        parts += [Text(""), *signals_section(r.patterns, r.latest.price, tf_label, events=events,
                                             console=console, width=width)]
    if r.stats is not None:  # walk-forward stats of the active signals (issue #7)
        from btcscan.render.stats import scan_stats_parts

        parts += [Text(""), *scan_stats_parts(r.stats)]
    if r.context is not None:
        parts += [Text("")] + context_parts(r.context, tf_label, declines_ref=declines_ref,
                                            console=console, width=width)
    if r.notes:
        parts += [Text(""), Text("Notes", style="bold")]
        parts += [hang(n) for n in r.notes]
    if r.warnings:
        parts += [Text(""), Text("Warnings", style="bold yellow")]
        parts += [hang(w, style="yellow") for w in r.warnings]
    title = f"{r.source.symbol} · {tf_label} · {r.source.label}"
    if len(title) > width - 2:  # the source row above names it in full
        title = f"{r.source.symbol} · {tf_label}"
    return Panel(Group(*parts), title=title, title_align="left", expand=True)


def metric_parts(metrics: tuple) -> list:
    """External context (``--sentiment``, ``--context-file``): value on the scan day, its
    30-day change, and where it came from."""
    parts: list = []
    for m in metrics:
        t = Text()
        t.append(f"{m.label}: ", style="bold")
        if m.value is None:
            t.append(f"no value on or before the scan time ({m.note})" if m.note
                     else "no value on or before the scan time")
        else:
            t.append(f"{m.value:,.10g}")
            if m.classification:
                t.append(f" ({m.classification})")
            t.append(f" on {when(m.time)}")
            if m.change_30d is not None:
                t.append(f"; 30d change {m.change_30d:+,.10g}")
                if m.change_30d_pct is not None:
                    t.append(f" ({pct(m.change_30d_pct)})")
            elif m.note:
                t.append(f"; {m.note}")
        parts.append(hang(t))
        parts.append(hang(Text(m.source, style="dim"), prefix="    "))
    return parts


def context_parts(ctx: LongRunContext, tf_label: str = "daily", *,
                  declines_ref: str | None = None, console: Console | None = None,
                  width: int | None = None) -> list:
    """The long-run section: power-law fair values with bands, drawdown, past declines,
    external metrics. Wrapped lines stay indented under their item; with a ``console``, the
    declines table is laid out for ``width`` without cutting a word."""
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
        parts.append(hang(t))
        parts.append(hang(f"log10 A={pl.log10_a:.4f}, n={pl.exponent:.4f}"
                          + (f", sigma={pl.sigma:.3f} (log10), R2={pl.r2:.3f}" if pl.sigma
                             else "") + f"; {pl.source}", prefix="    ", style="dim"))
    dd = ctx.drawdown
    parts.append(hang(
        f"drawdown {pct(dd.pct)} from the highest close {price(dd.peak.price)} "
        f"({when(dd.peak.time)}, {dd.days_since_peak} days ago); lowest close since "
        f"{price(dd.lowest_since_peak.price)} ({when(dd.lowest_since_peak.time)})"))
    parts += metric_parts(getattr(ctx, "metrics", ()))
    if ctx.declines and declines_ref is not None:
        deepest = min(d.depth_pct for d in ctx.declines)
        parts.append(hang(f"declines: the same {len(ctx.declines)} as in the {declines_ref} "
                          f"report above (deepest {pct(deepest)})", style="dim"))
    elif ctx.declines:
        parts.append(hang(f"Declines: {ctx.decline_rule}", prefix="", style="dim"))
        cols = [(c, "left" if c in ("peak", "trough", "recovered") else "right") for c in (
            "peak", "close", "trough", "close", "depth", "days to trough", "recovered",
            "days to recover")]
        rows = [[when(d.peak.time), price(d.peak.price), when(d.trough.time),
                 price(d.trough.price), pct(d.depth_pct), str(d.days_to_trough),
                 "ongoing (lowest so far)" if d.ongoing else when(d.recovered),
                 "-" if d.days_to_recover is None else str(d.days_to_recover)]
                for d in ctx.declines]
        console = console or Console(width=DEFAULT_WIDTH, color_system=None)
        parts += fitted_tables("", cols, rows, console, width or console.width,
                               pad_edge=False)
    parts += [hang(n, style="dim") for n in ctx.notes]
    return parts


def _num(x: float | None, d: int) -> str:
    return "n/a" if x is None else f"{x:.{d}f}"


def _tf_label(tf: str) -> str:
    from btcscan.timeframes import parse_timeframe

    return parse_timeframe(tf).label()


def render_table(result: ScanResult, console: Console, *, events: bool = False) -> None:
    """Print one panel per series, then any per-market failures. ``events`` adds every
    pattern event over the scanned history."""
    seen: dict[tuple, str] = {}  # a declines table already printed -> the report holding it
    for r in result.series:
        key = (r.context.declines, r.context.decline_rule) if r.context is not None else None
        ref = seen.get(key) if key and key[0] else None
        console.print(series_panel(r, events=events, console=console, declines_ref=ref))
        if key and ref is None:
            seen[key] = f"{r.source.symbol} {_tf_label(r.timeframe)}"
    for e in result.errors:
        console.print(Text(f"failed: {e.get('source')}: {e.get('error')}", style="red"))


def render_alerts(signals: tuple[Signal, ...], verdicts: tuple[ConditionResult, ...],
                  new_only: bool, console: Console) -> None:
    """Signals (new ones only under ``--new-only``) and ``--fail-on`` verdicts."""
    title = ("Alerts: new signals (not reported before)" if new_only
             else "Alerts: signals on recent closed candles")
    console.print(Text(title, style="bold"))
    # one print call each for all the lines: a watchlist has hundreds, and each call costs
    # the console's own work again (the text printed is the same)
    if not signals:
        console.print(Text("  none" + (" new" if new_only else "")))
    else:
        console.print(*(_hung(f"{when(s.time)}  {s.symbol} {s.timeframe}  {s.kind}: "
                              f"{s.detail}", "  ", console.width) for s in signals), sep="\n")
    if verdicts:
        console.print(Text("Conditions (--fail-on)", style="bold"))
        console.print(*(Text(f"  {'HOLDS' if v.holds else 'no   '}  {v.condition} on "
                             f"{v.market}: {v.detail}", style="red" if v.holds else "")
                        for v in verdicts), sep="\n")
