"""Closed candles of live markets: cache first, then only what is new from the exchange.

:func:`load_market` / :func:`load_markets` are what ``btcscan scan`` and ``btcscan fetch`` call.
For each market: read the cache, fetch after the last cached closed candle (or from ``since``,
or the exchange's earliest), validate every row, drop the forming candle, merge into the cache
atomically, and return the candles at the timeframe asked. Where the exchange's own candles
cannot be trusted for that timeframe (no such timeframe, weeks not opening Monday 00:00 UTC,
months not calendar months) they are built from daily candles and a note says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from btcscan.data import cache
from btcscan.data.fetch import (
    CALENDAR_NATIVE,
    DEFAULT_RETRY,
    ClientFactory,
    RateLimiter,
    RetryPolicy,
    Stats,
    call,
    make_client,
    paginate,
    validate_rows,
)
from btcscan.data.schema import TIME, Candles, Source, _fmt_time, epoch_ms, gaps
from btcscan.errors import BtcscanError, DataError, ExchangeError
from btcscan.timeframes import DAY_MS, Timeframe, parse_timeframe

#: ``progress(symbol, new_candles, finished)``; called from worker threads.
Progress = Callable[[str, int, bool], None]
#: Concurrent markets per exchange (the rate limiter still spaces every request).
DEFAULT_WORKERS = 4


@dataclass
class FetchReport:
    """What a refresh did for one market (for ``btcscan fetch`` and the benchmark)."""

    symbol: str
    requests: int = 0
    new_rows: int = 0
    retries: list[str] = field(default_factory=list)
    #: cached closed candles the exchange now reports otherwise (kept as cached)
    changed: int = 0


class _Session:
    """One exchange's clients (one per thread, sharing markets) and its rate limiter."""

    def __init__(self, exchange: str, options: dict | None, factory: ClientFactory | None,
                 policy: RetryPolicy) -> None:
        self.exchange = exchange
        self.options = options or {}
        self.factory = factory
        self.policy = policy
        self._local = threading.local()
        self._lock = threading.Lock()
        self._proto: Any = None
        self._markets_loaded = False
        self._markets_error: BtcscanError | None = None
        self.limiter: RateLimiter | None = None

    def prototype(self) -> Any:
        """The first client: timeframes, rate limit; created without any request."""
        with self._lock:
            if self._proto is None:
                self._proto = make_client(self.exchange, self.options, factory=self.factory)
                self.limiter = RateLimiter(float(getattr(self._proto, "rateLimit", 0) or 0))
            return self._proto

    def client(self, stats: Stats) -> Any:
        """This thread's client, with markets loaded (one request per run, shared)."""
        proto = self.prototype()
        with self._lock:
            if self._markets_error is not None:  # do not spend the retry budget again
                raise self._markets_error
            if not self._markets_loaded:
                try:
                    call(proto, proto.load_markets, what=f"{self.exchange} market list",
                         limiter=self.limiter, policy=self.policy, stats=stats)
                except BtcscanError as exc:
                    self._markets_error = exc
                    raise
                self._markets_loaded = True
        c = getattr(self._local, "client", None)
        if c is None:  # ccxt clients keep per-call state (last headers): one per thread
            c = make_client(self.exchange, self.options, factory=self.factory)
            c.set_markets(proto.markets, proto.currencies)
            self._local.client = c
        return c


def _plan(tf: Timeframe, exchange: str, native: dict | None) -> tuple[Timeframe, str | None]:
    """Which candles to fetch for ``tf`` and, when built from daily ones, the reason."""
    if tf.unit in ("w", "M") or (tf.unit == "d" and tf.count > 1):
        if native is not None and tf.text not in native:
            return parse_timeframe("1d"), f"{exchange} has no {tf} candles"
        if exchange not in CALENDAR_NATIVE:
            why = {"w": "weeks opening Monday 00:00 UTC", "M": "calendar months",
                   "d": "3-day buckets aligned to 1970-01-01"}[tf.unit]
            return (parse_timeframe("1d"),
                    f"{exchange}'s own {tf} candles are not known to use {why}")
        return tf, None
    if native is not None and tf.text not in native:
        raise ExchangeError(
            f"{exchange} has no {tf} candles through ccxt; use one of "
            f"{', '.join(native)} (or 1d/3d/1w/1M, built from daily candles)"
        )
    return tf, None


def _closed(df: pl.DataFrame, tf: Timeframe, now_ms: int) -> pl.DataFrame:
    """Rows whose candle has closed by ``now_ms`` (drops the forming one)."""
    if df.height == 0 or tf.period_end_ms(int(epoch_ms(df[TIME])[-1])) <= now_ms:
        return df  # all closed
    if tf.is_calendar:
        end = pl.col(TIME).dt.offset_by(tf.polars_every).dt.epoch("ms")
    else:
        end = pl.col(TIME).dt.epoch("ms") + tf.ms
    return df.filter(end <= now_ms)


def _refresh(session: _Session, symbol: str, tf: Timeframe, since_ms: int | None,
             cache_dir: Path, now_ms: int, progress: Progress | None,
             report: FetchReport) -> tuple[pl.DataFrame, list[str], list[str]]:
    """Bring the cache file of (symbol, tf) up to ``now_ms``.

    Returns the merged frame, notes (what was done) and warnings (what the exchange got wrong:
    rejected rows, duplicates, ignored ``since``, empty pages)."""
    ex = session.exchange
    where = f"{ex} {symbol} {tf}"
    old = cache.load(cache_dir, ex, symbol, tf.text)
    notes: list[str] = []
    warnings: list[str] = []
    stats = Stats()
    ranges: list[tuple[int, int | None]] = []
    if old is None or old.height == 0:
        ranges.append((since_ms if since_ms is not None else 0, None))
    else:
        first = int(old[TIME].dt.epoch("ms")[0])
        last = int(old[TIME].dt.epoch("ms")[-1])
        if since_ms is not None and since_ms < first - tf.ms:
            ranges.append((since_ms, first))  # back-fill before what is cached
        if tf.period_end_ms(tf.period_end_ms(last)) <= now_ms:  # a newer closed candle may exist
            ranges.append((tf.period_end_ms(last), None))
    rows: list = []
    try:
        if ranges:
            try:
                client = session.client(stats)
            except BtcscanError as exc:  # shared by all markets: name this one too
                raise type(exc)(f"{ex} {symbol}: {exc}") from exc
            for start, until in ranges:
                page = paginate(
                    client, symbol, tf, start, now_ms, limiter=session.limiter,
                    policy=session.policy, stats=stats, until_ms=until,
                    on_page=(lambda n: progress(symbol, n, False)) if progress else None,
                )
                rows.extend(page.rows)
                warnings.extend(page.notes)
    finally:
        report.requests += stats.requests
        report.retries.extend(stats.retries)
    checked = validate_rows(rows, tf, where)
    warnings.extend(checked.notes)
    fresh = _closed(checked.frame, tf, now_ms)
    changed: list[tuple[int, str]] = []
    merged = cache.store(cache_dir, ex, symbol, tf.text, fresh, changed)
    report.new_rows = merged.height - (old.height if old is not None else 0)
    report.changed = sum(n for n, _ in changed)
    warnings.extend(line for _, line in changed)
    if stats.retries:
        notes.append(f"{where}: {len(stats.retries)} request(s) retried ("
                     + ", ".join(sorted(set(stats.retries))) + ")")
    return merged, notes, warnings


def _result(frame: pl.DataFrame | None, tf: Timeframe, built_from: Timeframe | None,
            why: str | None, exchange: str, symbol: str, since_ms: int | None, now_ms: int,
            notes: list[str], offline: bool, warnings: list[str] | None = None) -> Candles:
    where = f"{exchange} {symbol}"
    if frame is None or frame.height == 0:
        hint = (f"run `btcscan fetch {symbol} --exchange {exchange}` first"
                if offline else "check --since and the market's listing date")
        raise DataError(f"{where}: no closed {built_from or tf} candles cached; {hint}")
    if since_ms is not None:
        frame = frame.filter(pl.col(TIME).dt.epoch("ms") >= since_ms)
        if frame.height == 0:
            raise DataError(f"{where}: no closed candles since {_fmt_time(since_ms)}")
    step = (built_from or tf)
    t = epoch_ms(frame[TIME])
    if step.unit in ("m", "h", "d") or step.unit == "w":
        missing, first = gaps(t, step.ms)
        if missing:
            notes.append(f"{where} {step}: {missing} missing candle(s), not filled: "
                         + ", ".join(first))
    base_tf = built_from or tf
    detail = f"{exchange} {base_tf} candles " + (
        f"{_fmt_time(int(t[0]))[:10]}..{_fmt_time(int(t[-1]))[:10]}") + (" (offline, cache)"
                                                                        if offline else "")
    candles = Candles(frame=frame, timeframe=base_tf,
                      source=Source(kind="exchange", exchange=exchange, symbol=symbol,
                                    detail=detail),
                      notes=tuple(notes), warnings=tuple(warnings or ()))
    if built_from is not None:
        from btcscan.data.resample import resample

        candles = resample(candles, tf, now_ms).with_notes(
            f"{tf} built from 1d candles: {why}"
        )
    return candles


def _one(session: _Session, symbol: str, tf: Timeframe, since_ms: int | None,
         cache_dir: Path, offline: bool, now_ms: int, progress: Progress | None,
         report: FetchReport) -> Candles:
    ex = session.exchange
    if offline:
        return _offline(ex, symbol, tf, since_ms, cache_dir, now_ms)
    proto = session.prototype()
    native = getattr(proto, "timeframes", None) or None
    fetch_tf, why = _plan(tf, ex, native)
    frame, notes, warnings = _refresh(session, symbol, fetch_tf, since_ms, cache_dir, now_ms,
                                      progress, report)
    built = fetch_tf if fetch_tf != tf else None
    return _result(frame, tf, built, why, ex, symbol, since_ms, now_ms, notes, False, warnings)


def _offline(exchange: str, symbol: str, tf: Timeframe, since_ms: int | None, cache_dir: Path,
             now_ms: int, preloaded: Any = False) -> Candles:
    """From the cache only: the file at ``tf`` if there is one, else built from cached 1d.
    ``preloaded`` is the file at ``tf`` already read (:func:`cache.load_many`), if it was."""
    if isinstance(preloaded, BtcscanError):
        raise preloaded
    frame = cache.load(cache_dir, exchange, symbol, tf.text) if preloaded is False \
        else preloaded
    if frame is not None:
        return _result(_closed(frame, tf, now_ms), tf, None, None, exchange, symbol, since_ms,
                       now_ms, ["offline: candles from the cache, not refreshed"], True)
    daily = parse_timeframe("1d")
    if tf.unit in ("w", "M") or (tf.unit == "d" and tf.count > 1):
        frame = cache.load(cache_dir, exchange, symbol, "1d")
        if frame is not None:
            return _result(frame, tf, daily, "only daily candles are cached", exchange, symbol,
                           since_ms, now_ms, ["offline: candles from the cache, not refreshed"],
                           True)
    raise DataError(
        f"{exchange} {symbol}: no {tf} candles in the cache at {cache_dir}; run "
        f"`btcscan fetch {symbol} --exchange {exchange} --timeframe {tf}` without --offline first"
    )


def load_markets(
    symbols: Sequence[str],
    *,
    exchange: str = "binance",
    timeframe: str = "1d",
    since_ms: int | None = None,
    cache_dir: Path | None = None,
    offline: bool = False,
    exchange_options: dict | None = None,
    now_ms: int | None = None,
    progress: Progress | None = None,
    client_factory: ClientFactory | None = None,
    retry: RetryPolicy | None = None,
    workers: int | None = None,
    reports: list[FetchReport] | None = None,
) -> list[Candles | BtcscanError]:
    """Closed candles of several markets of one exchange, fetched concurrently.

    Returns one item per symbol, in order: :class:`Candles` or the :class:`BtcscanError`
    that market ended with (one bad market does not stop the others). Requests of all
    markets share one rate limiter (the exchange's ``rateLimit`` ms, or the config's).
    ``now_ms`` (default: the clock) decides which candles are closed; ``since_ms`` is the
    earliest open time wanted (default: the exchange's earliest). ``offline`` reads the
    cache only and makes no network call. ``reports``, if given, receives one
    :class:`FetchReport` per symbol (requests, new rows, retries).
    """
    tf = parse_timeframe(timeframe)
    now = int(time.time() * 1000) if now_ms is None else int(now_ms)
    directory = Path(cache_dir) if cache_dir is not None else cache.default_cache_dir()
    policy = retry or DEFAULT_RETRY
    session = _Session(exchange, exchange_options, client_factory, policy)
    if offline:
        cache.cache_path(directory, exchange, "X", tf.text)  # validates the exchange id
    elif symbols:
        session.prototype()  # an unknown exchange fails once, here, for all symbols
    local_reports = [FetchReport(s) for s in symbols]
    pre = cache.load_many(directory, exchange, list(symbols), tf.text) if offline else None

    def task(i: int) -> Candles | BtcscanError:
        symbol = symbols[i]
        try:
            if pre is not None:
                return _offline(exchange, symbol, tf, since_ms, directory, now, pre[i])
            return _one(session, symbol, tf, since_ms, directory, offline, now, progress,
                        local_reports[i])
        except BtcscanError as exc:
            return exc
        finally:
            if progress:
                progress(symbol, 0, True)

    # offline, every file is already read (one parquet scan): threads would only contend
    n = 1 if offline else max(1, min(len(symbols), workers or DEFAULT_WORKERS))
    if n == 1:
        out = [task(i) for i in range(len(symbols))]
    else:
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="btcscan-fetch") as pool:
            out = list(pool.map(task, range(len(symbols))))
    if reports is not None:
        reports.extend(local_reports)
    return out


def load_market(
    symbol: str,
    *,
    exchange: str = "binance",
    timeframe: str = "1d",
    since_ms: int | None = None,
    cache_dir: Path | None = None,
    offline: bool = False,
    exchange_options: dict | None = None,
    now_ms: int | None = None,
    progress: Progress | None = None,
    client_factory: ClientFactory | None = None,
    retry: RetryPolicy | None = None,
) -> Candles:
    """Closed candles of one market at ``timeframe`` (see :func:`load_markets`).

    Raises the market's :class:`BtcscanError` instead of returning it."""
    (result,) = load_markets(
        [symbol], exchange=exchange, timeframe=timeframe, since_ms=since_ms,
        cache_dir=cache_dir, offline=offline, exchange_options=exchange_options, now_ms=now_ms,
        progress=progress, client_factory=client_factory, retry=retry, workers=1,
    )
    if isinstance(result, BtcscanError):
        raise result
    return result


__all__ = ["DAY_MS", "FetchReport", "load_market", "load_markets"]
