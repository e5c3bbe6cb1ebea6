"""The chart: candles of the scanned timeframe with volume, SMAs, wedge lines extended to
the last candle, breakout/breakdown candles, targets and invalidation levels, nearby round
numbers, the power-law fair value, and an RSI panel with divergence segments.

:func:`chart_view` is pure and gathers every number a chart shows, with its label, into a
:class:`ChartView`; two renderers read it: :func:`build_figure` (matplotlib, no pyplot or
global state, so tests can inspect its artists) saved by :func:`write_chart` as PNG at
1600x900 pixels or SVG, and :mod:`btcscan.render.html_chart` (plotly, ``PATH.html``).
Matplotlib and plotly are imported only when a chart is asked for. Every artist that
stands for a number has a ``label`` saying what it is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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
#: above this many candles shown, the price is a close line (a candle would be under 2 px)
CANDLES_UP_TO = 600
#: context levels (round numbers, the all-time high) are drawn only when within the shown
#: candles' range widened by this share of it (in log price) on each side
LEVEL_MARGIN = 0.08
UP, DOWN = "#26a69a", "#ef5350"
SMA_COLOURS = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b")
WEDGE_COLOURS = {"forming": "#1565c0", "broke_up": "#2e7d32", "broke_down": "#c62828",
                 "expired": "#757575"}
#: past scored events (btcscan stats --chart), coloured by outcome
OUTCOME_COLOURS = {"reached_target": "#2e7d32", "invalidated": "#c62828", "expired": "#9e9e9e",
                   "open": "#1565c0"}
#: past pattern events (scan --chart-events), by what the event says
EVENT_STYLES = {  # kind suffix -> (colour, marker up?)
    "broke_up": ("#2e7d32", True), "broke_down": ("#c62828", False),
    "formed": ("#1565c0", None), "expired": ("#9e9e9e", None),
    "bullish": ("#00897b", True), "bearish": ("#d81b60", False),
}


@dataclass(frozen=True)
class HLevel:
    """A horizontal price level: ``kind`` is target | invalidation | round | ath."""

    price: float
    text: str
    colour: str
    style: str  # matplotlib line style
    kind: str
    source: str = ""


@dataclass(frozen=True)
class Segment:
    """A straight line between two candles (bars of the scanned candles)."""

    label: str
    colour: str
    bars: tuple[int, int]
    prices: tuple[float, float]


@dataclass(frozen=True)
class DivergenceMark:
    label: str
    colour: str
    bars: tuple[int, int]
    prices: tuple[float, float]
    rsi: tuple[float, float]


@dataclass(frozen=True)
class Marks:
    """Markers sharing one legend entry: at ``bars`` (the candle whose close made each
    known), at that candle's close; ``up`` True draws ^, False v, None a diamond."""

    label: str  # renderers add how many they show: "past ... (12)"
    colour: str
    up: bool | None
    bars: tuple[int, ...]
    prices: tuple[float, ...]
    texts: tuple[str, ...]  # one hover text per marker
    gid: str


@dataclass(frozen=True)
class ChartView:
    """Everything a chart of one scan shows. Arrays hold every scanned candle (bar 0 is the
    first); ``first``..``last`` is the window shown at first (a PNG shows only that)."""

    title: str
    subtitle: str
    market: str
    tf_label: str
    price_label: str
    time_ms: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    first: int
    last: int
    smas: tuple[tuple[str, str, np.ndarray], ...]  # (label, colour, values)
    fair: tuple[str, np.ndarray, float | None] | None  # (label, values, sigma)
    rsi_label: str
    rsi: np.ndarray
    levels: tuple[HLevel, ...]
    ladder: tuple[HLevel, ...]  # the report's whole level ladder, nearest first
    wedge_lines: tuple[Segment, ...]
    breakouts: tuple[Marks, ...]
    divergences: tuple[DivergenceMark, ...]
    past_wedges: tuple[Segment, ...]  # with pattern events: earlier wedges (not active)
    past_divergences: tuple[DivergenceMark, ...]  # and earlier divergences
    past: tuple[Marks, ...]
    y_range: tuple[float, float]
    log_price: bool

    @property
    def shown(self) -> int:
        return self.last - self.first + 1

    @property
    def long(self) -> bool:
        """More candles shown than can be drawn as candles (:data:`CANDLES_UP_TO`)."""
        return self.shown > CANDLES_UP_TO

    @property
    def right_pad(self) -> int:
        """Empty candles right of the last one: room for the level labels, if any."""
        return max(3, int(self.shown * (0.16 if self.levels and not self.long else 0.03)))


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def _fmt(x: float) -> str:
    ax = abs(x)
    return f"{x:,.{0 if ax >= 1000 else 2 if ax >= 1 else 6}f}"


def _tick(x: float) -> str:
    """Axis tick: whole numbers without decimals (5, 700, 1,000), others without trailing
    zeros (0.3, 0.08, 1.5)."""
    if abs(x) >= 1 and float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.6f}".rstrip("0").rstrip(".")


def _compact(x: float) -> str:
    """Volume tick: 40k, 2.5M, 1.2B."""
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:,.3g}{unit}"
    return f"{x:,.3g}"


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


def price_label(report: SeriesReport) -> str:
    """The price axis names the market ("BTC/USD price"); a file whose market is not
    named (its symbol is the file's stem) is named as the file."""
    src = report.source
    if src.kind == "file" and src.path and src.symbol == Path(src.path).stem:
        return f"price (file {Path(src.path).name})"
    return f"{src.symbol} price"


def _event_style(kind: str) -> tuple[str, bool | None]:
    for suffix, style in EVENT_STYLES.items():
        if kind.endswith(suffix):
            return style
    return "#616161", None


def _event_name(kind: str) -> str:
    """``wedge_falling_broke_up`` -> "falling wedge broke up"; divergences by their kind."""
    parts = kind.split("_")
    if parts[0] == "wedge":
        return f"{parts[1]} wedge {' '.join(parts[2:])}"
    if parts[0] == "divergence":
        return f"{' '.join(parts[1:])} RSI divergence"
    return kind.replace("_", " ")


def _pattern_marks(report: SeriesReport, close: np.ndarray) -> tuple[Marks, ...]:
    """Every past pattern event (``report.patterns.events``), one group per kind."""
    p = report.patterns
    if p is None:
        return ()
    groups: dict[str, list] = {}
    for e in p.events:
        if 0 <= e.known_at_bar < close.size:
            groups.setdefault(e.kind, []).append(e)
    out = []
    for kind, evs in sorted(groups.items()):
        colour, up = _event_style(kind)
        bars = tuple(e.known_at_bar for e in evs)
        out.append(Marks(f"past {_event_name(kind)}", colour, up, bars,
                         tuple(float(close[b]) for b in bars),
                         tuple(f"{e.known_at:%Y-%m-%d %H:%M} UTC: {e.summary}" for e in evs),
                         f"past-{kind}"))
    return tuple(out)


def _scored_marks(events: Sequence[ScoredEvent], close: np.ndarray) -> tuple[Marks, ...]:
    """Scored events of ``btcscan stats``: one group per (outcome, direction)."""
    from btcscan.stats.rules import KIND_LABELS

    groups: dict[tuple[str, str], list] = {}
    for e in events:
        if 0 <= e.known_at_bar < close.size:
            groups.setdefault((e.outcome, e.direction), []).append(e)
    out = []
    for (outcome, direction), evs in sorted(groups.items()):
        bars = tuple(e.known_at_bar for e in evs)
        texts = tuple(f"{e.known_at:%Y-%m-%d %H:%M} UTC: {KIND_LABELS.get(e.kind, e.kind)}, "
                      f"{direction} at {_fmt(e.entry)}: {outcome.replace('_', ' ')}"
                      for e in evs)
        out.append(Marks(f"past {direction} events: {outcome.replace('_', ' ')}",
                         OUTCOME_COLOURS[outcome], direction == "long", bars,
                         tuple(float(close[b]) for b in bars), texts,
                         f"past-{outcome}-{direction}"))
    return tuple(out)


def _metric_lines(report: SeriesReport) -> list[str]:
    """One line per outside metric (--sentiment, --context-file) on the scan day, naming
    its source (the source text up to its point-in-time rule)."""
    lines = []
    for m in report.context.metrics if report.context is not None else ():
        if m.value is None or m.time is None:
            continue
        word = f" ({m.classification})" if m.classification else ""
        lines.append(f"{m.label} {m.value:,.10g}{word} on {m.time:%Y-%m-%d}; source: "
                     f"{m.source.split(';')[0]}")
    return lines


def chart_view(base: Candles, report: SeriesReport, settings: ScanSettings | None = None,
               bars: int = DEFAULT_BARS, past_events: Sequence[ScoredEvent] = (),
               pattern_events: bool = False) -> ChartView:
    """What the chart of ``report`` (scanned from ``base``) shows.

    ``past_events`` (scored events of :mod:`btcscan.stats`, bars of the same candles) and,
    with ``pattern_events``, every past event of the pattern engine are marked at the close
    of the candle each became known."""
    settings = settings or ScanSettings()
    tf = parse_timeframe(report.timeframe)
    asof_ms = int(report.asof.timestamp() * 1000)
    a = resample(base, tf, asof_ms).arrays()
    t, o, h, lo, c, v = (a[k] for k in ("open_time", "open", "high", "low", "close", "volume"))
    n = c.size
    last = n - 1
    first = _first_bar(report, n, bars)
    sl = slice(first, n)

    smas = tuple((f"SMA {s.period} ({tf.label()} closes)", SMA_COLOURS[i % len(SMA_COLOURS)],
                  sma(c, s.period)) for i, s in enumerate(report.smas))
    fair = None
    if report.context is not None and report.context.power_law:
        fit = report.context.power_law[0]
        values = 10.0 ** (fit.log10_a + fit.exponent * np.log10(days_since_genesis(t)))
        fair = (f"power-law fair value ({fit.label}, n={fit.exponent:.2f})", values, fit.sigma)

    ymin, ymax = float(lo[sl].min()), float(h[sl].max())
    signal_levels: list[HLevel] = []
    wedge_lines: list[Segment] = []
    breakouts: list[Marks] = []
    divergences: list[DivergenceMark] = []
    past_wedges: list[Segment] = []
    past_divergences: list[DivergenceMark] = []
    p = report.patterns
    if p is not None:
        for w in p.active_wedges:
            colour = WEDGE_COLOURS[w.state]
            for name, ln in (("upper", w.upper), ("lower", w.lower)):
                ys = (ln.start_price, ln.value_at(last))
                wedge_lines.append(Segment(f"{w.kind} wedge {name} line ({w.state})", colour,
                                           (ln.start_bar, last), ys))
                ymin, ymax = min(ymin, *ys), max(ymax, *ys)
            if w.state in ("broke_up", "broke_down"):
                what = "breakout" if w.state == "broke_up" else "breakdown"
                label = f"{what} close {_dt(w.state_at_ms):%Y-%m-%d} ({w.kind} wedge)"
                bar = w.state_at_bar
                breakouts.append(Marks(label, colour, w.state == "broke_up", (bar,),
                                       (float(c[bar]),), (label,), what))
            for tg in w.targets:
                rule = tg.rule if tg.rule.lower().startswith(tg.kind) else f"{tg.kind}: {tg.rule}"
                signal_levels.append(HLevel(
                    tg.price, f"{_fmt(tg.price)} {rule}",
                    colour if tg.kind == "target" else "#424242",
                    "-." if tg.kind == "target" else "--", tg.kind,
                    f"{w.kind} wedge {w.upper.start_time:%Y-%m-%d}.."
                    f"{max(w.upper.end_time, w.lower.end_time):%Y-%m-%d}"))
                ymin, ymax = min(ymin, tg.price), max(ymax, tg.price)
        for w in p.wedges if pattern_events else ():
            if w in p.active_wedges:
                continue
            for name, ln in (("upper", w.upper), ("lower", w.lower)):
                past_wedges.append(Segment(
                    f"{w.kind} wedge {w.upper.start_time:%Y-%m-%d}.. {name} line ({w.state})",
                    WEDGE_COLOURS[w.state], (ln.start_bar, ln.end_bar),
                    (ln.start_price, ln.end_price)))
        earlier = [d for d in p.divergences if d not in p.active_divergences]
        for d, into in [(d, divergences) for d in p.active_divergences] + \
                [(d, past_divergences) for d in (earlier if pattern_events else ())]:
            colour = DOWN if "bearish" in d.kind else UP
            into.append(DivergenceMark(
                f"{d.kind.replace('_', ' ')} divergence (known {_dt(d.known_at_ms):%Y-%m-%d})",
                colour, (d.first_bar, d.second_bar), (d.first_price, d.second_price),
                (d.first_rsi, d.second_rsi)))

    # context levels only near the shown prices, so they never stretch the axis
    f = (ymax / ymin) ** LEVEL_MARGIN
    near = (ymin / f, ymax * f)
    context: list[HLevel] = []
    # round numbers are a local landmark: not on a view spanning a decade of prices or more
    rungs = [x for row in report.levels for x in (row, *row.grouped)]  # grouped rows too
    for lv in rungs if ymax / ymin < 10 else ():
        if lv.kind == "round" and near[0] <= lv.price <= near[1]:
            context.append(HLevel(lv.price, lv.label, "#616161", ":", "round", lv.source))
    if near[0] <= report.ath.price <= near[1]:
        context.append(HLevel(report.ath.price, f"all-time high {_fmt(report.ath.price)} "
                              f"({report.ath.time:%Y-%m-%d})", "#616161", "-", "ath",
                              report.ath.method))
    for lv in context:
        ymin, ymax = min(ymin, lv.price), max(ymax, lv.price)
    context.sort(key=lambda lv: -lv.price)

    past = _scored_marks(past_events, c)
    if pattern_events:
        past += _pattern_marks(report, c)
    src = report.source
    opened = f"{report.last_closed.open_time:%Y-%m-%d}" if tf.ms >= 86_400_000 else \
        f"{report.last_closed.open_time:%Y-%m-%d %H:%M} UTC"
    return ChartView(
        title=f"{src.symbol} · {tf.label()} candles · as of {asof_text(report.asof)} "
              f"(last closed candle opened {opened})",
        subtitle="\n".join([f"data: {src.detail or src.label}", *_metric_lines(report)]),
        market=src.symbol, tf_label=tf.label(),
        price_label=price_label(report), time_ms=t, open=o, high=h, low=lo, close=c, volume=v,
        first=first, last=last, smas=smas, fair=fair,
        rsi_label=f"RSI {settings.rsi_period}", rsi=rsi(c, settings.rsi_period),
        levels=tuple(signal_levels + context),
        ladder=tuple(HLevel(lv.price, f"{lv.label} ({lv.distance_pct:+.1f}%, {lv.side})",
                            "#37474f", "-", lv.kind, lv.source) for lv in rungs),
        wedge_lines=tuple(wedge_lines),
        breakouts=tuple(breakouts), divergences=tuple(divergences),
        past_wedges=tuple(past_wedges), past_divergences=tuple(past_divergences), past=past,
        y_range=(ymin * 0.97, ymax * 1.03), log_price=ymax / ymin > 2.5)


def build_figure(base: Candles, report: SeriesReport, settings: ScanSettings | None = None,
                 bars: int = DEFAULT_BARS, past_events: Sequence[ScoredEvent] = (),
                 pattern_events: bool = False) -> Figure:
    """The chart of ``report`` drawn from ``base`` (the candles it was scanned from).

    ``past_events`` (scored events of :mod:`btcscan.stats`) and, with ``pattern_events``,
    the pattern engine's past events are marked at the close of the candle each became
    known: ^ long/up, v short/down, a diamond for neither; one legend entry per group, no
    label per event."""
    return draw(chart_view(base, report, settings, bars, past_events, pattern_events))


def draw(view: ChartView) -> Figure:
    """The matplotlib figure of ``view``: its window only."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    first, last, n = view.first, view.last, view.last + 1
    x = np.arange(first, n)
    sl = slice(first, n)
    o, h, lo, c, v = (a[sl] for a in (view.open, view.high, view.low, view.close, view.volume))
    long_view = view.long

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    gs = fig.add_gridspec(3, 1, height_ratios=(5, 1.1, 1.6))
    ax = fig.add_subplot(gs[0])
    axv = fig.add_subplot(gs[1], sharex=ax)
    axr = fig.add_subplot(gs[2], sharex=ax)
    fig.suptitle(f"{view.title}\n{view.subtitle}", fontsize=13)

    # candles (or, for a long history, the closes) and volume
    colours = np.where(c >= o, UP, DOWN)
    if long_view:
        colours = np.full(c.size, "#78909c")
        ax.plot(x, c, color="#37474f", linewidth=0.8, label=f"close ({view.tf_label})",
                gid="closes")
    else:
        ax.vlines(x, lo, h, colors=colours, linewidth=0.8, label="_wicks", gid="wicks")
        body_h = np.maximum(np.abs(c - o), 1e-9 * c)
        ax.bar(x, body_h, bottom=np.minimum(o, c), width=0.7, color=colours, label="_candles",
               gid="candles")
    axv.bar(x, v, width=1.0 if long_view else 0.7, color=colours, alpha=0.7, label="volume",
            gid="volume")
    _scale_volume(axv, v, log=long_view)
    axv.set_ylabel("volume (log)" if long_view else "volume")
    axv.yaxis.set_major_formatter(FuncFormatter(lambda y, _: _compact(y)))

    for label, colour, values in view.smas:
        ax.plot(x, values[sl], color=colour, linewidth=1.4, label=label)
    if view.fair is not None:
        label, fair, sigma = view.fair
        ax.plot(x, fair[sl], color="#7f7f7f", linestyle="--", linewidth=1.0, label=label)
        if sigma:
            ax.fill_between(x, fair[sl] * 10 ** -sigma, fair[sl] * 10 ** sigma, color="#7f7f7f",
                            alpha=0.07, linewidth=0, label="power law +/-1 sigma")

    for s in view.wedge_lines:
        ax.plot(s.bars, s.prices, color=s.colour, linewidth=1.6, label=s.label)
    for m in view.breakouts:
        ax.scatter(m.bars, m.prices, s=140, marker="^" if m.up else "v", color=m.colour,
                   zorder=5, edgecolors="black", label=m.label)

    axr.plot(x, view.rsi[sl], color="#6a1b9a", linewidth=0.8 if long_view else 1.2,
             label=view.rsi_label)
    for lvl in (30, 70):
        axr.axhline(lvl, color="#9e9e9e", linewidth=0.8, linestyle=":")
    axr.set_ylim(0, 100)
    axr.set_ylabel(view.rsi_label)
    for d in view.divergences:
        axr.plot(d.bars, d.rsi, color=d.colour, linewidth=2.2, marker="o", label=d.label)
        ax.plot(d.bars, d.prices, color=d.colour, linewidth=2.2, marker="o",
                label="_" + d.label)

    for m in view.past:
        xs = [b for b in m.bars if first <= b <= last]
        if xs:
            ax.scatter(xs, view.close[xs], s=18 if long_view else 36,
                       marker={True: "^", False: "v", None: "D"}[m.up], color=m.colour,
                       edgecolors="white", linewidths=0.4, zorder=4,
                       label=f"{m.label} ({len(xs)})", gid=m.gid)

    for lv in view.levels:
        ax.axhline(lv.price, color=lv.colour, linestyle=lv.style, linewidth=1.0,
                   label=f"level: {lv.text}")

    ymin, ymax = view.y_range
    if view.log_price:
        ax.set_yscale("log")
        decades = np.log10(ymax / ymin)
        subs = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0) if decades < 0.8 else \
            (1.0, 2.0, 3.0, 5.0, 7.0) if decades < 1.2 else (1.0, 2.0, 5.0) if decades < 2.5 \
            else (1.0,)
        ax.yaxis.set_major_locator(LogLocator(subs=subs))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(ymin, ymax)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: _tick(y)))
    ax.set_ylabel(view.price_label)
    ax.set_xlim(first - 1, last + view.right_pad)
    _label_levels(ax, view.levels)
    ax.grid(True, alpha=0.25)
    axr.grid(True, alpha=0.25)

    t = view.time_ms
    intraday = n > 1 and t[-1] - t[-2] < 86_400_000
    stamp = "%Y-%m-%d %H:%M" if intraday else "%Y-%m-%d"

    def date_of(xv: float, _pos=None) -> str:
        i = int(round(xv))
        return f"{_dt(t[i]):{stamp}}" if 0 <= i < n else ""

    axr.xaxis.set_major_locator(MaxNLocator(7, integer=True))
    axr.xaxis.set_major_formatter(FuncFormatter(date_of))
    for hidden in (ax, axv):
        hidden.tick_params(labelbottom=False)
    # legends list the lines and marker groups; levels are labelled where they are drawn
    handles = [h for h in ax.get_legend_handles_labels()[0]
               if not str(h.get_label()).startswith("level:")]
    ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.85,
              ncols=2 if len(handles) > 9 else 1, markerscale=1.5 if long_view else 1.0)
    axr.legend(loc="upper left", fontsize=8, framealpha=0.85)
    return fig


def volume_top(v: np.ndarray) -> float | None:
    """Top of the volume panel for the volumes ``v`` shown: a few spikes don't flatten the
    rest (at most three times the 95th percentile; taller bars reach the top)."""
    positive = v[v > 0]
    if positive.size == 0:
        return None
    return min(float(positive.max()), 3.0 * float(np.percentile(positive, 95)))


def _scale_volume(axv, v: np.ndarray, log: bool) -> None:
    """Volume panel limits (:func:`volume_top`); a long history is log-scaled, as volume
    changes by orders of magnitude over years."""
    top = volume_top(v)
    if top is None:
        return
    positive = v[v > 0]
    if log:
        axv.set_yscale("log")
        axv.set_ylim(max(float(np.percentile(positive, 1)), top * 1e-4), top * 1.5)
    else:
        axv.set_ylim(0, top * 1.05)


def _label_levels(ax, levels: Sequence[HLevel], gap: float = 0.036) -> None:
    """Write each level's text inside the panel at its right edge, on a white box over
    the level's line. Signal levels (targets, invalidation) are nudged apart so none
    overlap; a context level (round number, all-time high) whose label would overlap
    another is left unlabelled (its line stays)."""
    to_axes = ax.transAxes.inverted()

    def axes_y(price: float) -> float:
        return float(to_axes.transform(ax.transData.transform((0, price)))[1])

    signal = [lv for lv in levels if lv.kind in ("target", "invalidation")]
    context = [lv for lv in levels if lv.kind not in ("target", "invalidation")]
    placed: list[tuple[float, HLevel]] = []
    for lv in sorted(signal, key=lambda lv: -lv.price):
        y = min(axes_y(lv.price), 1.0 - gap)
        if placed and y > placed[-1][0] - gap:
            y = placed[-1][0] - gap
        placed.append((max(y, 0.0), lv))
    # the all-time high first, then major round numbers, then the others
    for lv in sorted(context, key=lambda lv: (lv.kind != "ath", "major" not in lv.text)):
        y = min(axes_y(lv.price), 1.0 - gap)
        if y >= 0.0 and all(abs(y - py) >= gap for py, _ in placed):
            placed.append((y, lv))
    for y, lv in placed:
        ax.annotate(lv.text, xy=(0.995, y), xycoords="axes fraction", xytext=(0, 1),
                    textcoords="offset points", ha="right", va="bottom", fontsize=8,
                    color=lv.colour, annotation_clip=True, clip_on=True,
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "alpha": 0.75,
                          "linewidth": 0})


def write_chart(base: Candles, report: SeriesReport, settings: ScanSettings,
                path: str | Path, *, past_events: Sequence[ScoredEvent] = (),
                bars: int = DEFAULT_BARS, pattern_events: bool = False) -> Path:
    """Save the chart as PNG (1600x900 px), SVG or a self-contained HTML page (plotly),
    chosen by the file's suffix."""
    out = Path(path)
    fmt = out.suffix.lstrip(".").lower()
    # a page of a scan always carries its past pattern events (hidden until clicked,
    # unless asked); a page of stats carries its scored events instead
    view = chart_view(base, report, settings, bars, past_events,
                      pattern_events or (fmt == "html" and not past_events))
    out.parent.mkdir(parents=True, exist_ok=True)
    # written beside, then renamed: a failed write never leaves half a chart
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if fmt == "html":
            from btcscan.render.html_chart import write_html

            write_html(view, tmp, show_past=pattern_events or bool(past_events))
        else:
            # no version or date stamps, so the same data gives the same file
            draw(view).savefig(tmp, dpi=DPI, format=fmt,
                               metadata={"Date": None} if fmt == "svg" else {"Software": None})
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
