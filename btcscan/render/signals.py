"""The signals section of the terminal report: active wedges and RSI divergences, their
levels and targets (nearest first, with distance from the latest price), and with
``--events`` every event over the scanned history with the candle it became known at."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from btcscan.patterns.types import Divergence, PatternReport, Wedge
from btcscan.render.table import fit, hang, pct, price, when

_STATE = {"forming": "forming", "broke_up": "broke out upward", "broke_down": "broke down",
          "expired": "expired at the apex"}
_DIV = {"regular_bearish": "Regular bearish", "regular_bullish": "Regular bullish",
        "hidden_bearish": "Hidden bearish", "hidden_bullish": "Hidden bullish"}


def _dist(level: float, latest: float) -> str:
    return pct((level / latest - 1.0) * 100.0)


def _wedge(w: Wedge, latest: float, tf_label: str) -> list:
    head = Text()
    head.append(f"{w.kind.capitalize()} wedge", style="bold")
    head.append(f" {when(w.start_time)}..{when(w.upper.end_time)}: {_STATE[w.state]}")
    if w.state == "forming":
        head.append(f" (known at the {when(w.known_at)} {tf_label} close; "
                    f"{w.upper.touches}+{w.lower.touches} touches)")
    else:
        head.append(f" at the {when(w.state_at)} {tf_label} close (wedge known {when(w.known_at)})")
    out: list = [hang(head, prefix="")]
    for line, which in ((w.upper, "upper"), (w.lower, "lower")):
        v = line.value_at_last
        role = "support" if v <= latest else "resistance"
        out.append(hang(
            f"{which} trendline {role} {price(v)} ({_dist(v, latest)}) at the last close; "
            f"{price(line.start_price)} ({when(line.start_time)}) -> {price(line.end_price)} "
            f"({when(line.end_time)}), {price(line.slope_per_bar)} per candle", prefix="  "))
    targets = Table.grid(padding=(0, 1))
    targets.add_column(no_wrap=True)
    targets.add_column(justify="right", no_wrap=True)
    targets.add_column(justify="right", no_wrap=True)
    targets.add_column()
    for t in sorted(w.targets, key=lambda t: abs(t.price - latest)):
        style = "red" if t.kind == "invalidation" else "cyan"
        targets.add_row(f"  {t.kind}", Text(price(t.price), style=style),
                        Text(_dist(t.price, latest), style=style), t.rule)
    if w.targets:
        out.append(targets)
    return out


def _divergence(d: Divergence, tf_label: str):
    t = Text()
    style = "red" if d.kind.endswith("bearish") else "green"
    t.append(f"{_DIV[d.kind]} RSI divergence", style=f"bold {style}")
    side = "highs" if d.kind.endswith("bearish") else "lows"
    t.append(f": price {side} {price(d.first_price)} ({when(d.first_time)}) -> "
             f"{price(d.second_price)} ({when(d.second_time)}), RSI {d.first_rsi:.1f} -> "
             f"{d.second_rsi:.1f}; known at the {when(d.known_at)} {tf_label} close")
    return hang(t, prefix="")


def signals_section(p: PatternReport, latest: float, tf_label: str, *,
                    events: bool = False, console=None, width: int | None = None) -> list:
    """Renderables for one series' pattern report; with a ``console``, the events table is
    laid out for ``width`` columns without cutting a word."""
    parts: list = [Text(f"Signals ({tf_label} candles; wedges and RSI divergences, point in time)",
                        style="bold")]
    if not p.active_wedges and not p.active_divergences:
        parts.append(Text("  no active wedge or divergence"))
    for w in sorted(p.active_wedges, key=lambda w: min(
            abs(w.upper.value_at_last - latest), abs(w.lower.value_at_last - latest))):
        parts.extend(_wedge(w, latest, tf_label))
    for d in p.active_divergences:
        parts.append(_divergence(d, tf_label))
    n = len(p.events)
    if not events:
        parts.append(Text(f"  {n} event(s) over the scanned history; --events lists them",
                          style="dim"))
        return parts
    table = Table(title=f"Events over the scanned history ({n}), with the {tf_label} candle "
                        "whose close made each knowable", title_justify="left", box=None,
                  padding=(0, 1))
    table.add_column("known at")
    table.add_column("event")
    table.add_column("what")
    for e in p.events:
        table.add_row(when(e.known_at), e.kind.replace("_", " "), e.summary)
    if console is not None:
        fit(table, console, width or console.width)
    parts += [Text(""), table]
    return parts
