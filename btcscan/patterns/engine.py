"""The engine entry points (imports numba); :mod:`btcscan.patterns` re-exports them lazily."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from btcscan.indicators import rsi as _rsi  # any price scale (satoshi pairs)
from btcscan.kernels.divergence import divergences as _divergences
from btcscan.kernels.rolling import atr as _atr
from btcscan.kernels.trendlines import STATE_DOWN, STATE_FORMING, STATE_UP
from btcscan.patterns.divergences import (
    DivergenceRows,
    divergence_event,
    divergence_rows,
    divergences_of,
)
from btcscan.patterns.params import PatternParams
from btcscan.patterns.types import Deferred, Divergence, Event, Level, PatternReport, Wedge
from btcscan.patterns.wedges import (
    WedgeRows,
    events_of_wedge,
    wedge_levels,
    wedge_records,
    wedge_rows,
    wedges_of,
)

#: series from this many bars on run their two kernel chains on two threads (see
#: :func:`pattern_records`); below it handing work to a thread costs more than it saves
#: (benchmarks/bench_patterns.py measures both sides)
THREAD_MIN_BARS = 50_000

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _second_thread() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="btcscan-rsi")
        return _pool


class PatternRecords(NamedTuple):
    """What the kernels compute for :func:`detect_patterns`, before any Python object."""

    atr: np.ndarray
    rsi: np.ndarray
    log: dict[str, np.ndarray]  # the zig-zag's pivot log
    wedges: np.ndarray  # btcscan.kernels.trendlines.scan_wedges records
    divergences: np.ndarray  # btcscan.kernels.divergence.divergences records


def pattern_records(high: np.ndarray, low: np.ndarray, close: np.ndarray,
                    params: PatternParams, *, atr: np.ndarray | None = None,
                    rsi: np.ndarray | None = None) -> PatternRecords:
    """The two independent kernel chains over float64 bars: ATR -> zig-zag -> wedge scan,
    and RSI -> divergence scan. From :data:`THREAD_MIN_BARS` bars on, the RSI chain runs on
    a second thread (the kernels release the GIL) while this one runs the other.

    ``atr`` / ``rsi``: the caller's ATR(``params.atr_period``) / RSI(``params.rsi_period``)
    of these bars, when it has them (:func:`btcscan.analysis.series.analyse` does), so they
    are not computed twice."""
    p = params

    def rsi_chain() -> tuple[np.ndarray, np.ndarray]:
        r = _rsi(close, p.rsi_period) if rsi is None else rsi
        return r, _divergences(r, high, low, p)

    other = _second_thread().submit(rsi_chain) if close.shape[0] >= THREAD_MIN_BARS else None
    a = _atr(high, low, close, p.atr_period) if atr is None else atr
    log, wedges = wedge_records(high, low, close, a, p)
    r, divs = rsi_chain() if other is None else other.result()
    return PatternRecords(a, r, log, wedges, divs)


def _event_key(e: Event) -> tuple[int, int, str]:
    return (e.known_at_bar, 0 if e.kind.startswith("wedge") else 1, e.kind)


def pattern_events(wedges: tuple[Wedge, ...], divs: tuple[Divergence, ...]) -> tuple[Event, ...]:
    """Every event of ``wedges`` and ``divs`` in ``known_at`` order (wedges first on a tie)."""
    events: list[Event] = []
    for w in wedges:
        events.extend(events_of_wedge(w, w.state_at_close))
    events.extend(divergence_event(d) for d in divs)
    events.sort(key=_event_key)
    return tuple(events)


class PatternHistory:
    """Every wedge and divergence of one scan as the kernels' records; each object is built
    on first read and kept. The report's active ones are built with it; the history (and
    its events) only when a view reads it: a summary table never does."""

    def __init__(self, wedges: WedgeRows, divergences: DivergenceRows) -> None:
        self.wedge_rows, self.divergence_rows = wedges, divergences
        self._wedges: dict[int, Wedge] = {}
        self._divergences: dict[int, Divergence] = {}

    def some_wedges(self, which: list[int]) -> tuple[Wedge, ...]:
        new = [i for i in which if i not in self._wedges]
        if new:
            self._wedges.update(zip(new, wedges_of(self.wedge_rows, new), strict=True))
        return tuple(self._wedges[i] for i in which)

    def some_divergences(self, which: list[int]) -> tuple[Divergence, ...]:
        new = [i for i in which if i not in self._divergences]
        if new:
            self._divergences.update(zip(new, divergences_of(self.divergence_rows, new),
                                         strict=True))
        return tuple(self._divergences[i] for i in which)

    def wedges(self) -> tuple[Wedge, ...]:
        """Every wedge, in the order they became known."""
        return self.some_wedges(list(range(len(self.wedge_rows.rec))))

    def divergences(self) -> tuple[Divergence, ...]:
        """Every divergence, in the order they became known."""
        return self.some_divergences(list(range(len(self.divergence_rows.rec))))

    def events(self) -> tuple[Event, ...]:
        return pattern_events(self.wedges(), self.divergences())


def detect_patterns(arrays: dict[str, np.ndarray], params: PatternParams | None = None, *,
                    times_ms: np.ndarray | None = None) -> PatternReport:
    """Wedges and RSI divergences over closed candles.

    ``arrays``: ``high``, ``low``, ``close`` (float64) and ``open_time`` (int64 UTC ms) as
    :meth:`btcscan.data.schema.Candles.arrays` returns; every row is a closed candle and the
    last row is "the last closed candle". ``times_ms`` overrides ``arrays["open_time"]``.
    ``params`` defaults to :class:`PatternParams()`.

    Active = wedges still forming, or broken/divergences known within
    ``params.recent_bars`` candles of the last one. ``levels`` are the ladder levels of the
    active wedges (lines at the last close, targets, invalidation), nearest to the last
    close first.
    """
    p = params or PatternParams()
    high, low, close, times = pattern_bars(arrays, times_ms)
    if close.shape[0] == 0:
        return PatternReport((), (), (), (), float("nan"), -1, 0)
    return pattern_report(high, low, close, times, p, pattern_records(high, low, close, p))


def pattern_bars(arrays: dict[str, np.ndarray], times_ms: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(high, low, close, open times) of ``arrays`` as the engine reads them (float64 /
    int64, contiguous, checked); see :func:`detect_patterns`."""
    high = np.ascontiguousarray(arrays["high"], dtype=np.float64)
    low = np.ascontiguousarray(arrays["low"], dtype=np.float64)
    close = np.ascontiguousarray(arrays["close"], dtype=np.float64)
    times = np.ascontiguousarray(arrays["open_time"] if times_ms is None else times_ms,
                                 dtype=np.int64)
    if not (high.shape == low.shape == close.shape == times.shape) or close.ndim != 1:
        raise ValueError("high, low, close and times must be one-dimensional, same length")
    return high, low, close, times


def pattern_report(high: np.ndarray, low: np.ndarray, close: np.ndarray, times: np.ndarray,
                   params: PatternParams, rec: PatternRecords) -> PatternReport:
    """The :class:`PatternReport` of the kernels' records ``rec`` (:func:`pattern_records`)
    over these bars (:func:`pattern_bars`, at least one)."""
    p = params
    history = PatternHistory(wedge_rows(close, times, rec.log, rec.wedges),
                             divergence_rows(high, low, close, rec.rsi, times, rec.divergences))
    last = close.shape[0] - 1
    last_close = float(close[last])
    recent = last - p.recent_bars
    # a few wedges per series: their states as Python values, not a dozen array operations
    active_w = history.some_wedges([
        i for i, (state, at) in enumerate(zip(rec.wedges["state"].tolist(),
                                              rec.wedges["state_bar"].tolist(), strict=True))
        if state == STATE_FORMING or (state in (STATE_UP, STATE_DOWN) and at >= recent)])
    # divergences are in the order they became known: the recent ones are a tail
    first = int(rec.divergences["known"].searchsorted(recent))
    active_d = history.some_divergences(list(range(first, rec.divergences.shape[0])))
    levels: list[Level] = []
    for w in active_w:
        levels.extend(wedge_levels(w, last_close))
    levels.sort(key=lambda lv: abs(lv.price - last_close))
    return PatternReport(active_wedges=active_w, active_divergences=active_d,
                         events=Deferred(PatternHistory.events, history),
                         levels=tuple(levels), last_close=last_close, last_bar=last,
                         last_ms=int(times[last]),
                         wedges=Deferred(PatternHistory.wedges, history),
                         divergences=Deferred(PatternHistory.divergences, history))
