"""The chart: candles of the scanned timeframe with volume, SMAs, wedge lines extended to
the last candle, breakout/breakdown candles, targets and invalidation levels, nearby round
numbers, the power-law fair value, and an RSI panel with divergence segments.

:func:`build_figure` is pure (no pyplot, no global state) and returns the matplotlib
``Figure`` so tests can inspect its artists; :func:`write_chart` saves it (PNG at
1600x900 pixels, or SVG). Matplotlib is imported only when a chart is asked for.
Every artist that stands for a number has a ``label`` saying what it is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from btcscan.analysis.powerlaw import days_since_genesis
from btcscan.data.resample import resample
from btcscan.data.schema import Candles
from btcscan.indicators import rsi
from btcscan.kernels.rolling import sma
from btcscan.models import SeriesReport
from btcscan.render.table import asof_text
from btcscan.settings import ScanSettings
from btcscan.timeframes import parse_timeframe

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.figure import Figure

    from btcscan.stats.types import ScoredEvent

WIDTH_PX, HEIGHT_PX, DPI = 1600, 900, 100
#: candles shown when no pattern reaches further back
DEFAULT_BARS = 200
#: round numbers and the all-time high are drawn when within this factor of the candles' range
NEAR = 1.35
UP, DOWN = "#26a69a", "#ef5350"
SMA_COLOURS = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b")
WEDGE_COLOURS = {"forming": "#1565c0", "broke_up": "#2e7d32", "broke_down": "#c62828",
                 "expired": "#757575"}
#: past scored events (btcscan stats --chart), coloured by outcome
OUTCOME_COLOURS = {"reached_target": "#2e7d32", "invalidated": "#c62828", "expired": "#9e9e9e",
                   "open": "#1565c0"}


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def _fmt(x: float) -> str:
    ax = abs(x)
    return f"{x:,.{0 if ax >= 1000 else 2 if ax >= 1 else 6}f}"


def _first_bar(report: SeriesReport, n: int, bars: int) -> int:
    """First candle shown: the last ``bars`` candles, reaching back to every active pattern."""
    first = max(0, n - bars)
    p = report.patterns
    if p is not None:
        starts = [min(w.upper.start_bar, w.lower.start_bar) for w in p.active_wedges]
        starts += [d.first_bar for d in p.active_divergences]
        if starts:
            first = max(0, min(first, min(starts) - 10))
    return first


def build_figure(base: Candles, report: SeriesReport, settings: ScanSettings | None = None,
                 bars: int = DEFAULT_BARS, past_events: Sequence[ScoredEvent] = ()) -> Figure:
    """The chart of ``report`` drawn from ``base`` (the candles it was scanned from).

    ``past_events`` (scored events of :mod:`btcscan.stats`, bars of the same candles) are
    marked at the close of the candle each became known, one marker style per direction
    (^ long, v short) and one colour per outcome."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    settings = settings or ScanSettings()
    tf = parse_timeframe(report.timeframe)
    asof_ms = int(report.asof.timestamp() * 1000)
    a = resample(base, tf, asof_ms).arrays()
    t, o, h, lo, c, v = (a[k] for k in ("open_time", "open", "high", "low", "close", "volume"))
    n = c.size
    first = _first_bar(report, n, bars)
    x = np.arange(first, n)
    sl = slice(first, n)

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    gs = fig.add_gridspec(3, 1, height_ratios=(5, 1.1, 1.6))
    ax = fig.add_subplot(gs[0])
    axv = fig.add_subplot(gs[1], sharex=ax)
    axr = fig.add_subplot(gs[2], sharex=ax)
    fig.suptitle(
        f"{report.source.symbol} · {tf.label()} candles · as of {asof_text(report.asof)} "
        f"(last closed candle opened {report.last_closed.open_time:%Y-%m-%d})\n"
        f"data: {report.source.detail or report.source.label}", fontsize=13)

    # candles and volume
    up = c[sl] >= o[sl]
    colours = np.where(up, UP, DOWN)
    ax.vlines(x, lo[sl], h[sl], colors=colours, linewidth=0.8, label="_wicks", gid="wicks")
    body_lo = np.minimum(o[sl], c[sl])
    body_h = np.maximum(np.abs(c[sl] - o[sl]), 1e-9 * c[sl])
    ax.bar(x, body_h, bottom=body_lo, width=0.7, color=colours, label="_candles", gid="candles")
    axv.bar(x, v[sl], width=0.7, color=colours, alpha=0.7, label="volume", gid="volume")
    axv.set_ylabel("volume")

    # SMAs of the same timeframe
    for i, s in enumerate(report.smas):
        values = sma(c, s.period)[sl]
        ax.plot(x, values, color=SMA_COLOURS[i % len(SMA_COLOURS)], linewidth=1.4,
                label=f"SMA {s.period} ({tf.label()} closes)")

    # long-run context: the fitted power-law fair value over the window
    if report.context is not None and report.context.power_law:
        fit = report.context.power_law[0]
        fair = 10.0 ** (fit.log10_a + fit.exponent * np.log10(days_since_genesis(t[sl])))
        ax.plot(x, fair, color="#7f7f7f", linestyle="--", linewidth=1.0,
                label=f"power-law fair value ({fit.label}, n={fit.exponent:.2f})")
        if fit.sigma:
            ax.fill_between(x, fair * 10 ** -fit.sigma, fair * 10 ** fit.sigma, color="#7f7f7f",
                            alpha=0.07, linewidth=0, label="power law +/-1 sigma")

    ymin, ymax = float(lo[sl].min()), float(h[sl].max())
    near = (ymin / NEAR, ymax * NEAR)  # context levels (round numbers, ATH) drawn only here
    levels: list[tuple[float, str, str, str]] = []  # (price, text, colour, style)
    # round numbers near the price, from the report's level ladder
    for lv in (x for row in report.levels for x in (row, *row.grouped)):
        if lv.kind == "round" and near[0] <= lv.price <= near[1]:
            levels.append((lv.price, lv.label, "#616161", ":"))
    if report.ath.price <= near[1]:
        levels.append((report.ath.price, f"all-time high {_fmt(report.ath.price)} "
                       f"({report.ath.time:%Y-%m-%d})", "#616161", "-"))

    # the pattern engine's wedges and divergences
    last = n - 1
    p = report.patterns
    if p is not None:
        for w in p.active_wedges:
            colour = WEDGE_COLOURS[w.state]
            for name, ln in (("upper", w.upper), ("lower", w.lower)):
                ys = [ln.start_price, ln.value_at(last)]
                ax.plot([ln.start_bar, last], ys, color=colour, linewidth=1.6,
                        label=f"{w.kind} wedge {name} line ({w.state})")
                ymin, ymax = min(ymin, *ys), max(ymax, *ys)
            if w.state in ("broke_up", "broke_down"):
                what = "breakout" if w.state == "broke_up" else "breakdown"
                ax.scatter([w.state_at_bar], [c[w.state_at_bar]], s=140, marker="^" if
                           w.state == "broke_up" else "v", color=colour, zorder=5,
                           edgecolors="black", label=f"{what} close "
                           f"{_dt(w.state_at_ms):%Y-%m-%d} ({w.kind} wedge)")
            for tg in w.targets:
                rule = tg.rule if tg.rule.lower().startswith(tg.kind) else f"{tg.kind}: {tg.rule}"
                levels.append((tg.price, f"{_fmt(tg.price)} {rule}",
                               colour if tg.kind == "target" else "#424242",
                               "-." if tg.kind == "target" else "--"))

    r = rsi(c, settings.rsi_period)
    axr.plot(x, r[sl], color="#6a1b9a", linewidth=1.2, label=f"RSI {settings.rsi_period}")
    for lvl in (30, 70):
        axr.axhline(lvl, color="#9e9e9e", linewidth=0.8, linestyle=":")
    axr.set_ylim(0, 100)
    axr.set_ylabel(f"RSI {settings.rsi_period}")
    if p is not None:
        for d in p.active_divergences:
            bearish = "bearish" in d.kind
            colour = DOWN if bearish else UP
            label = f"{d.kind.replace('_', ' ')} divergence (known {_dt(d.known_at_ms):%Y-%m-%d})"
            axr.plot([d.first_bar, d.second_bar], [d.first_rsi, d.second_rsi], color=colour,
                     linewidth=2.2, marker="o", label=label)
            ax.plot([d.first_bar, d.second_bar], [d.first_price, d.second_price], color=colour,
                    linewidth=2.2, marker="o", label="_" + label)

    _mark_past_events(ax, past_events, c, first, n)

    # horizontal levels, labelled in the margin right of the last candle
    shown = last - first + 1
    right = last + max(3, int(shown * 0.16))
    drawn: list[tuple[float, str, str]] = []
    for price, text, colour, style in levels:
        ax.axhline(price, color=colour, linestyle=style, linewidth=1.0, label=f"level: {text}")
        drawn.append((price, text, colour))
        ymin, ymax = min(ymin, price), max(ymax, price)

    if ymax / ymin > 2.5:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0, 7.0)))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(ymin * 0.97, ymax * 1.03)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: _fmt(y)))
    ax.set_ylabel(f"price ({report.source.symbol.split('/')[-1]})")
    ax.set_xlim(first - 1, right)
    _label_levels(ax, drawn, last + 1.5)
    ax.grid(True, alpha=0.25)
    axr.grid(True, alpha=0.25)

    def date_of(xv: float, _pos=None) -> str:
        i = int(round(xv))
        return f"{_dt(t[i]):%Y-%m-%d}" if 0 <= i < n else ""

    axr.xaxis.set_major_formatter(FuncFormatter(date_of))
    for hidden in (ax, axv):
        hidden.tick_params(labelbottom=False)
    # legends list the lines; levels are labelled where they are drawn
    handles = [h for h in ax.get_legend_handles_labels()[0]
               if not str(h.get_label()).startswith("level:")]
    ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.85)
    axr.legend(loc="upper left", fontsize=8, framealpha=0.85)
    return fig


def _mark_past_events(ax, events: Sequence[ScoredEvent], close: np.ndarray, first: int,
                      n: int) -> None:
    """One scatter per (outcome, direction): markers at each event's entry candle/close."""
    groups: dict[tuple[str, str], list[int]] = {}
    for e in events:
        if first <= e.known_at_bar < n:
            groups.setdefault((e.outcome, e.direction), []).append(e.known_at_bar)
    for (outcome, direction), xs in sorted(groups.items()):
        ax.scatter(xs, close[xs], s=36, marker="^" if direction == "long" else "v",
                   color=OUTCOME_COLOURS[outcome], edgecolors="white", linewidths=0.5, zorder=4,
                   label=f"past {direction} events: {outcome.replace('_', ' ')} ({len(xs)})",
                   gid=f"past-{outcome}-{direction}")


def _label_levels(ax, drawn: list[tuple[float, str, str]], x: float,
                  gap: float = 0.036) -> None:
    """Write each level's text in the right margin, nudged apart (downwards from the top) so
    none overlap or leave the panel."""
    to_axes = ax.transAxes.inverted()
    placed: list[float] = []
    for price, text, colour in sorted(drawn, reverse=True):
        y = min(float(to_axes.transform(ax.transData.transform((x, price)))[1]), 1.0 - gap)
        if placed and y > placed[-1] - gap:
            y = placed[-1] - gap
        placed.append(y)
        ax.annotate(text, xy=(x, y), xycoords=("data", "axes fraction"), xytext=(0, 1),
                    textcoords="offset points", ha="left", va="bottom", fontsize=8,
                    color=colour, annotation_clip=False)


def write_chart(base: Candles, report: SeriesReport, settings: ScanSettings,
                path: str | Path, *, past_events: Sequence[ScoredEvent] = (),
                bars: int = DEFAULT_BARS) -> Path:
    """Save the chart as PNG (1600x900 px) or SVG, chosen by the file's suffix."""
    out = Path(path)
    fig = build_figure(base, report, settings, bars=bars, past_events=past_events)
    out.parent.mkdir(parents=True, exist_ok=True)
    fmt = out.suffix.lstrip(".").lower()
    # no version or date stamps, so the same data gives the same file
    fig.savefig(out, dpi=DPI, format=fmt,
                metadata={"Date": None} if fmt == "svg" else {"Software": None})
    return out
