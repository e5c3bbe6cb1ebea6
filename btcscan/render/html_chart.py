"""The interactive chart (``--chart PATH.html``): one self-contained plotly page of a
:class:`btcscan.render.chart.ChartView`, to zoom, pan and hover.

The page embeds plotly.js itself (``include_plotlyjs=True``): it loads no script, font or
style from anywhere, so it works offline. It holds every scanned candle; the first view is
the window the PNG shows (drag or zoom to see the rest, double-click to come back); when
the time axis moves alone, the price axis fits the candles in view (:data:`FIT_PRICE_JS`).
Panels: price (candles, SMAs, power law, wedge lines, breakout marks, targets,
invalidation, round numbers and the all-time high), volume, RSI with divergence segments.
Past events are listed in the legend, one entry per kind, each toggled by a click; hover
shows each value with its candle's open time in UTC. Plotly is imported only here.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from btcscan.render.chart import DOWN, UP, ChartView, volume_top

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

#: plotly's names for the matplotlib line styles of the view's levels
DASH = {"-": "solid", "--": "dash", "-.": "dashdot", ":": "dot"}
HOVER_TIME = "%Y-%m-%d %H:%M UTC"
DIV_ID = "btcscan-chart"  # a fixed id: the same data gives the same page


def _dates(ms: np.ndarray) -> np.ndarray:
    """Candle open times as UTC milliseconds: a date axis reads numbers as UTC ms, and an
    array of numbers is embedded compactly (8 bytes each, not a date text each)."""
    return np.asarray(ms, dtype="float64")


def build_html_figure(view: ChartView, show_past: bool = False) -> Figure:
    """The plotly figure of ``view``. Past events and earlier wedges are drawn, visible
    when ``show_past`` and otherwise listed in the legend, hidden until clicked."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    x = _dates(view.time_ms)
    n = x.size
    step = x[-1] - x[-2] if n > 1 else 86_400_000.0
    x_end = x[-1] + step * view.right_pad  # room for level labels
    price_hover = "%{y:,.2f}" if view.y_range[0] < 1000 else "%{y:,.0f}"
    if view.y_range[0] < 1:
        price_hover = "%{y:,.6f}"

    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.025,
                        row_heights=(0.64, 0.13, 0.23))
    f8 = functools.partial(np.asarray, dtype="float64")  # the page's script reads float64
    fig.add_trace(go.Candlestick(
        x=x, open=f8(view.open), high=f8(view.high), low=f8(view.low), close=f8(view.close),
        name=f"{view.market} {view.tf_label} candles", legendgroup="candles",
        increasing_line_color=UP, decreasing_line_color=DOWN, increasing_fillcolor=UP,
        decreasing_fillcolor=DOWN, line_width=1), row=1, col=1)
    colours = np.where(view.close >= view.open, UP, DOWN)
    fig.add_trace(go.Bar(x=x, y=view.volume, marker_color=colours, marker_line_width=0,
                         opacity=0.7, name="volume", legendgroup="volume",
                         hovertemplate="volume %{y:,.2f}<extra></extra>"), row=2, col=1)

    for label, colour, values in view.smas:
        fig.add_trace(go.Scatter(x=x, y=values, mode="lines", name=label, legendgroup=label,
                                 line={"color": colour, "width": 1.6},
                                 hovertemplate=f"{label}: {price_hover}<extra></extra>"),
                      row=1, col=1)
    if view.fair is not None:
        label, fair, sigma = view.fair
        if sigma:
            for k, name in ((-1, "power law -1 sigma"), (1, "power law +1 sigma")):
                fig.add_trace(go.Scatter(
                    x=x, y=fair * 10 ** (k * sigma), mode="lines", name="power law +/-1 sigma",
                    legendgroup="power law band", showlegend=k == 1, fill="tonexty" if k == 1
                    else None, fillcolor="rgba(127,127,127,0.08)",
                    line={"color": "rgba(127,127,127,0.3)", "width": 0.5},
                    hovertemplate=f"{name}: {price_hover}<extra></extra>"), row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=fair, mode="lines", name=label, legendgroup=label,
                                 line={"color": "#7f7f7f", "width": 1.2, "dash": "dash"},
                                 hovertemplate=f"power-law fair value: {price_hover}"
                                               "<extra></extra>"), row=1, col=1)

    for s in view.wedge_lines:
        fig.add_trace(go.Scatter(x=x[list(s.bars)], y=s.prices, mode="lines", name=s.label,
                                 legendgroup="wedges",
                                 line={"color": s.colour, "width": 2},
                                 hovertemplate=f"{s.label}: {price_hover}<extra></extra>"),
                      row=1, col=1)
    for m in view.breakouts:
        fig.add_trace(_marks(go, x, m, size=16, visible=True, group="wedges",
                             outline="black", name=m.label), row=1, col=1)

    ymin, ymax = view.y_range

    def near_top(price: float) -> bool:  # label under its line, not cut at the top
        if view.log_price:
            return np.log(ymax / price) < 0.05 * np.log(ymax / ymin)
        return ymax - price < 0.05 * (ymax - ymin)

    for lv in view.levels:
        fig.add_trace(go.Scatter(
            x=[x[view.first], x_end], y=[lv.price, lv.price], mode="lines+text",
            text=["", lv.text], textposition="bottom left" if near_top(lv.price) else "top left",
            textfont={"color": lv.colour, "size": 11}, name=lv.text,
            legendgroup=f"levels-{lv.kind}",
            line={"color": lv.colour, "width": 1, "dash": DASH.get(lv.style, "solid")},
            hovertemplate=f"{lv.text}<br>{lv.source}<extra></extra>" if lv.source
            else f"{lv.text}<extra></extra>"), row=1, col=1)

    # the report's level ladder: a tick each right of the last candle, one trace each so a
    # hover there lists them all; one legend entry toggles them together
    for i, lv in enumerate(view.ladder):
        fig.add_trace(go.Scatter(
            x=[x[-1] + step * 1.5], y=[lv.price], mode="markers", legendgroup="ladder",
            name=f"level ladder of the report ({len(view.ladder)})", showlegend=i == 0,
            text=[f"{lv.text}<br>{lv.source}"],
            marker={"symbol": "line-ew-open", "size": 16, "color": lv.colour,
                    "line": {"width": 2, "color": lv.colour}},
            hovertemplate=f"{price_hover}: %{{text}}<extra></extra>"), row=1, col=1)

    fig.add_trace(go.Scatter(x=x, y=view.rsi, mode="lines", name=view.rsi_label,
                             legendgroup="rsi", line={"color": "#6a1b9a", "width": 1.3},
                             hovertemplate=f"{view.rsi_label}: %{{y:.1f}}<extra></extra>"),
                  row=3, col=1)
    for lvl in (30, 70):
        fig.add_hline(y=lvl, line={"color": "#9e9e9e", "width": 1, "dash": "dot"}, row=3, col=1)
    for d in view.divergences:
        for row, ys, first in ((3, d.rsi, True), (1, d.prices, False)):
            fig.add_trace(go.Scatter(
                x=x[list(d.bars)], y=ys, mode="lines+markers", name=d.label,
                legendgroup=d.label, showlegend=first,
                line={"color": d.colour, "width": 2.5}, marker={"size": 7},
                hovertemplate=f"{d.label}: %{{y:,.1f}}<extra></extra>"), row=row, col=1)

    if view.past_divergences:
        for row, first in ((3, True), (1, False)):
            xs, ys = [], []
            for d in view.past_divergences:
                xs += [x[d.bars[0]], x[d.bars[1]], None]
                ys += list(d.rsi if row == 3 else d.prices) + [None]
            fig.add_trace(go.Scatter(
                x=xs, y=ys, mode="lines", name=f"earlier RSI divergences "
                f"({len(view.past_divergences)})", legendgroup="past-divergences",
                showlegend=first, line={"color": "#8e24aa", "width": 1.2},
                visible=True if show_past else "legendonly",
                hovertemplate="earlier divergence: %{y:,.1f}<extra></extra>"), row=row, col=1)
    if view.past_wedges:
        xs: list = []
        ys: list = []
        for s in view.past_wedges:
            xs += [x[s.bars[0]], x[s.bars[1]], None]
            ys += [s.prices[0], s.prices[1], None]
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", name=f"earlier wedges ({len(view.past_wedges) // 2})",
            legendgroup="past-wedges",
            line={"color": "#5c6bc0", "width": 1.2}, visible=True if show_past else "legendonly",
            hovertemplate=f"earlier wedge line: {price_hover}<extra></extra>"), row=1, col=1)
    for m in view.past:
        fig.add_trace(_marks(go, x, m, size=6 if view.long else 9, visible=show_past, group=m.gid,
                             outline="white"), row=1, col=1)

    x0 = x[max(view.first - 1, 0)]
    fig.update_layout(
        title={"text": f"{view.title}<br><sup>{view.subtitle.replace(chr(10), '<br>')}</sup>",
               "x": 0.5},
        height=900, template="plotly_white", hovermode="x unified", dragmode="zoom",
        hoverlabel={"namelength": -1},
        margin={"l": 70, "r": 20, "t": 80, "b": 50}, bargap=0.1,
        legend={"font": {"size": 11}, "tracegroupgap": 4},
        xaxis_rangeslider_visible=False)
    fig.update_xaxes(type="date", hoverformat=HOVER_TIME, range=[x0, x_end],
                     showspikes=True, spikemode="across", spikethickness=1)
    fig.update_xaxes(title_text="candle open time (UTC)", row=3, col=1)
    fig.update_yaxes(title_text=view.price_label, row=1, col=1,
                     type="log" if view.log_price else "linear",
                     range=[np.log10(ymin), np.log10(ymax)] if view.log_price else [ymin, ymax],
                     tickformat=",.0f" if ymin >= 10 else ",~g")
    shown = view.volume[view.first:]
    top = volume_top(shown)
    if top and view.long:  # volume changes by orders of magnitude over years
        low = max(float(np.percentile(shown[shown > 0], 1)), top * 1e-4)
        fig.update_yaxes(title_text="volume (log)", type="log", row=2, col=1,
                         range=[np.log10(low), np.log10(top * 1.5)])
    else:
        fig.update_yaxes(title_text="volume", row=2, col=1,
                         range=[0, top * 1.05] if top else None)
    fig.update_yaxes(title_text=view.rsi_label, range=[0, 100], row=3, col=1)
    return fig


def _marks(go, x: np.ndarray, m, *, size: int, visible: bool, group: str, outline: str,
           name: str | None = None):
    symbol = {True: "triangle-up", False: "triangle-down", None: "diamond"}[m.up]
    return go.Scatter(
        x=x[list(m.bars)], y=m.prices, mode="markers", name=name or f"{m.label} ({len(m.bars)})",
        legendgroup=group,
        text=m.texts, hovertemplate="%{text}<extra></extra>", visible=True if visible
        else "legendonly", marker={"symbol": symbol, "size": size, "color": m.colour,
                                   "line": {"color": outline, "width": 1}})


#: When the time axis moves (a pan, a zoom of the time axis or of the lower panels) and the
#: price axis was not set with it, fit the price axis to the candles in view (3% margin),
#: as charting sites do; plotly keeps the price range as it was otherwise. Candles are the
#: first trace, its arrays float64 typed-array specs ({dtype: 'f8', bdata: base64}) as
#: plotly.py writes numpy arrays; plotly's range ends are UTC date texts or milliseconds.
FIT_PRICE_JS = """
(function () {
  var gd = document.getElementById('{plot_id}');
  function values(v) {
    if (!v || v.bdata === undefined) return v;
    var b = atob(v.bdata), u = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) u[i] = b.charCodeAt(i);
    return new Float64Array(u.buffer);
  }
  var c = {x: values(gd.data[0].x), low: values(gd.data[0].low),
           high: values(gd.data[0].high)};
  function ms(v) {
    if (typeof v === 'number') return v;
    var p = String(v).trim().split(' ');
    return Date.parse(p[0] + 'T' + (p[1] || '00:00:00').slice(0, 12) + 'Z');
  }
  gd.on('plotly_relayout', function (ev) {
    var r = ev['xaxis.range'] || [ev['xaxis.range[0]'], ev['xaxis.range[1]']];
    if (r[0] === undefined || ev['yaxis.range[0]'] !== undefined || ev['yaxis.range']) return;
    var t0 = ms(r[0]), t1 = ms(r[1]), lo = Infinity, hi = -Infinity;
    for (var i = 0; i < c.x.length; i++) {
      if (c.x[i] >= t0 && c.x[i] <= t1) {
        lo = Math.min(lo, c.low[i]); hi = Math.max(hi, c.high[i]);
      }
    }
    if (!(hi >= lo) || lo <= 0) return;
    var log = gd.layout.yaxis.type === 'log';
    var range = log ? [Math.log10(lo * 0.97), Math.log10(hi * 1.03)] : [lo * 0.97, hi * 1.03];
    Plotly.relayout(gd, {'yaxis.range': range});
  });
})();
"""


def write_html(view: ChartView, path: str | Path, show_past: bool = False) -> Path:
    """Write the page: plotly.js inline, no network needed to open it."""
    out = Path(path)
    fig = build_html_figure(view, show_past=show_past)
    fig.write_html(out, include_plotlyjs=True, full_html=True, div_id=DIV_ID,
                   post_script=FIT_PRICE_JS,
                   config={"displaylogo": False, "scrollZoom": True, "responsive": True})
    return out
