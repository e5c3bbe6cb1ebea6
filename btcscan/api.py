"""The Python entry points: load candles from a source, scan them point in time.

>>> import btcscan.api as bs
>>> result = bs.scan(sample=True, timeframe="1w", asof="2025-06-30")
>>> result.series[0].smas[0].state
'above'
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from btcscan.analysis.context import (
    long_run_context,
    power_laws,
    with_context,
    with_power_law_levels,
)
from btcscan.analysis.series import analyse
from btcscan.data.files import expand_paths, read_ohlcv, read_parquet_many
from btcscan.data.sample import DEFAULT_SAMPLE, load_sample
from btcscan.data.schema import Candles, Source, epoch_ms, normalise
from btcscan.errors import BtcscanError, DataError, UsageError
from btcscan.models import ScanResult, SeriesReport
from btcscan.settings import ScanSettings
from btcscan.timeframes import Timeframe, infer_timeframe_ms, parse_timeframe, timeframe_from_ms

if TYPE_CHECKING:
    import polars as pl

J = TypeVar("J")  # a chunk's job, as the batch driver passes it to its loader


def parse_asof(text: str | datetime | None) -> int | None:
    """``--asof`` -> UTC milliseconds. A date means the END of that UTC day
    (``2025-03-10`` -> 2025-03-11 00:00 UTC); a date-time is taken as given (UTC if naive)."""
    if text is None:
        return None
    if isinstance(text, datetime):
        dt = text if text.tzinfo else text.replace(tzinfo=UTC)
        return int(dt.timestamp() * 1000)
    s = text.strip()
    try:
        if len(s) == 10:  # + one day in ms: the day after 9999-12-31 is no datetime
            day = datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=UTC)
            return int(day.timestamp() * 1000) + 86_400_000
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"cannot read --asof {text!r}: use a date like 2025-06-30 (end of that UTC day) "
            "or a time like 2025-06-30T12:00Z"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def load_file(path: Path, symbol: str | None = None, raw: pl.DataFrame | None = None
              ) -> Candles:
    """Read and validate one user file; its timeframe is inferred from the candle spacing.
    Repairs (sorting, dropping exact duplicates) are listed in ``Candles.warnings``.
    ``symbol`` names the file's market (``BTC/USD``: BTC's context, such as the power law);
    by default the file's name stands for it. ``raw``: the file's table, when already read
    (:func:`btcscan.data.files.read_parquet_many`)."""
    raw, notes = read_ohlcv(path, raw)
    frame, warnings = normalise(raw, str(path))
    if frame.height < 2:
        raise DataError(f"{path}: only {frame.height} candle; need a history of candles")
    tf = timeframe_from_ms(infer_timeframe_ms(epoch_ms(frame["open_time"])))
    stem = path.name[:-len(".json.gz")] if path.name.lower().endswith(".json.gz") \
        else path.stem  # freqtrade's gzipped JSON: its name without both suffixes
    source = Source(kind="file", symbol=symbol or stem, path=str(path))
    return Candles(frame=frame, timeframe=tf, source=source, warnings=tuple(warnings),
                   notes=tuple(notes))


class SourceRef(NamedTuple):
    """One market of a scan, not read yet: a bundled sample market (``sample``, its
    symbol) or a user file (``path``; ``symbol`` names its market, see :func:`load_file`)."""

    sample: str | None = None
    path: Path | None = None
    symbol: str | None = None


def source_refs(
    *, sample: bool = False, symbols: Sequence[str] = (), files: Sequence[str] = (),
    file_symbol: str | None = None,
) -> list[SourceRef]:
    """The markets of a scan, bundled sample markets and/or user files, in that order: the
    paths are expanded and checked now, read by :func:`load_refs` (``file_symbol`` names
    the market of the one file given)."""
    refs = [SourceRef(sample=sym) for sym in (symbols or (DEFAULT_SAMPLE,))] if sample else []
    if files:
        paths = expand_paths(list(files))
        if file_symbol is not None and len(paths) != 1:
            raise UsageError(f"--symbol {file_symbol} names the market of one file; "
                             f"{len(paths)} files were given")
        refs += [SourceRef(path=path, symbol=file_symbol) for path in paths]
    if not refs:
        raise UsageError(
            "nothing to scan: give --sample, --from-file PATH, or SYMBOL with --exchange"
        )
    return refs


def load_refs(refs: Sequence[SourceRef]) -> list[Candles]:
    """The candles of ``refs``, in order (the first that cannot be read raises); their
    parquet files are read in one scan when they can be."""
    tables = read_parquet_many([r.path for r in refs if r.path is not None])
    return [load_sample(r.sample) if r.sample is not None
            else load_file(r.path, r.symbol, tables.get(r.path)) for r in refs]


def load_sources(
    *, sample: bool = False, symbols: Sequence[str] = (), files: Sequence[str] = (),
    file_symbol: str | None = None,
) -> list[Candles]:
    """Candles for a scan: bundled sample markets and/or user files, all read now
    (:func:`source_refs`; :func:`scan_sources` reads them a chunk at a time)."""
    return load_refs(source_refs(sample=sample, symbols=symbols, files=files,
                                 file_symbol=file_symbol))


def scan_one(
    c: Candles, tf: Timeframe, asof_ms: int | None, settings: ScanSettings | None = None,
    *, detail: bool = True,
) -> SeriesReport:
    """One series: indicators, levels, patterns and long-run context, point in time.

    ``detail=False`` builds what the many-market summary table, the signals, alerts and
    ``--fail-on`` conditions read, and nothing else: no walk-forward stats lines (``stats``
    None) and no long-run context (``context`` None; the power laws' levels are on the
    ladder all the same). Every field they read equals the full report's."""
    r = analyse(c, tf, asof_ms, settings, detail=detail)
    at = int(r.asof.timestamp() * 1000)
    if not detail:
        laws = power_laws(c, at, settings)[0]
        return with_power_law_levels(r, laws, settings) if laws else r  # none: the same ladder
    return with_context(r, long_run_context(c, at, settings), settings)


def scan_each(
    series: Sequence[Candles],
    tf: Timeframe,
    asof_ms: int | None,
    settings: ScanSettings | None = None,
    *,
    detail: bool = True,
) -> list[SeriesReport | BtcscanError]:
    """:func:`scan_one` over many series, one after the other (threads measured slower:
    most of a series' scan is Python, see docs/watchlists.md); one report or the
    :class:`BtcscanError` of that series each, in order.

    Python's cyclic garbage collector is paused meanwhile (its state is restored after):
    a scan allocates many short-lived objects but hardly any reference cycle (a lean scan
    none: tests/test_summary_lean.py; a full one a few, collected on the collector's next
    run), and each collection it would trigger walks the young objects and now and then
    every object of the process, numba's and polars' included."""

    def one(c: Candles) -> SeriesReport | BtcscanError:
        try:
            return scan_one(c, tf, asof_ms, settings, detail=detail)
        except BtcscanError as exc:
            return exc

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return [one(c) for c in series]
    finally:
        if was_enabled:
            gc.enable()


def scan_candles(
    series: Sequence[Candles],
    *,
    timeframe: str | Timeframe = "1w",
    asof: str | datetime | None = None,
    settings: ScanSettings | None = None,
) -> ScanResult:
    """Scan already-loaded candles point in time; one :class:`SeriesReport` each.
    The first series that cannot be scanned raises (see :func:`scan_markets` to collect)."""
    tf = timeframe if isinstance(timeframe, Timeframe) else parse_timeframe(timeframe)
    asof_ms = parse_asof(asof)
    reports = scan_each(series, tf, asof_ms, settings)
    for r in reports:
        if isinstance(r, BtcscanError):
            raise r
    return ScanResult(series=tuple(reports))


def scan(
    *,
    sample: bool = False,
    symbols: Sequence[str] = (),
    files: Sequence[str] = (),
    timeframe: str = "1w",
    asof: str | datetime | None = None,
    settings: ScanSettings | None = None,
) -> ScanResult:
    """Load and scan. ``sample=True`` scans the bundled BTC/USD history (or ``symbols``)."""
    settings = settings or replace(ScanSettings(), timeframe=timeframe)
    tf = parse_timeframe(timeframe)  # validate before any I/O
    series = load_sources(sample=sample, symbols=symbols, files=files)
    return scan_candles(series, timeframe=tf, asof=asof, settings=settings)


def scan_sources(
    refs: Sequence[SourceRef],
    *,
    timeframe: str | Timeframe = "1w",
    asof: str | datetime | None = None,
    settings: ScanSettings | None = None,
    chunk: int = 64,
    on_series: Callable[[Candles, SeriesReport], None] | None = None,
    detail: bool = True,
) -> ScanResult:
    """:func:`scan_candles` of the candles of ``refs`` (:func:`source_refs`), read and
    scanned ``chunk`` at a time by the batch driver of :func:`scan_markets` (the next chunk
    read while one is scanned, the candles dropped after; ``on_series`` sees them while
    they are held). The first source that cannot be read or scanned raises, in the order
    given. ``detail``: see :func:`scan_one`."""
    tf = timeframe if isinstance(timeframe, Timeframe) else parse_timeframe(timeframe)
    asof_ms = parse_asof(asof)
    jobs = [refs[i : i + chunk] for i in range(0, len(refs), chunk)]
    reports: list[SeriesReport] = []
    for _, loaded in _each_loaded(jobs, load_refs):
        for c, r in zip(loaded, scan_each(loaded, tf, asof_ms, settings, detail=detail),
                        strict=True):
            if isinstance(r, BtcscanError):
                raise r
            reports.append(r)
            if on_series is not None:
                on_series(c, r)
        del loaded
    return ScanResult(series=tuple(reports))


def _each_loaded(jobs: Sequence[J], load: Callable[[J], list]) -> Iterator[tuple[J, list]]:
    """The batch driver: each job with its loaded chunk, in order. The next job is loaded
    in a thread while the caller scans this one, so at most two chunks of candles are held:
    live markets wait on the network, cached markets and files on polars' readers (both
    release the GIL; from the cache, 1,000 daily markets: 0.1-0.3 s less wall time on 2
    cores when issue #6 measured it, on par with reading in turn at load 2 in issue 13).
    A load that raises raises here, in order."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="btcscan-load") as loader:
        nxt = loader.submit(load, jobs[0]) if jobs else None
        for k, job in enumerate(jobs):
            assert nxt is not None
            loaded = nxt.result()
            nxt = loader.submit(load, jobs[k + 1]) if k + 1 < len(jobs) else None
            yield job, loaded
            del loaded


def load_exchange(symbols: Sequence[str], **kwargs) -> list:
    """Closed candles of live markets through the cache (issue #3): one :class:`Candles` or
    :class:`btcscan.errors.BtcscanError` per symbol. Keyword arguments are those of
    :func:`btcscan.data.market.load_markets` (exchange, timeframe, since_ms, cache_dir,
    offline, exchange_options, now_ms, progress)."""
    from btcscan.data.market import load_markets

    return load_markets(list(symbols), **kwargs)


def _load_group(exchange: str, symbols: Sequence[str], timeframe: str, load_kwargs: dict) -> list:
    if exchange == "sample":
        out: list = []
        for sym in symbols:
            try:
                out.append(load_sample(sym))
            except BtcscanError as exc:
                out.append(exc)
        return out
    kwargs = {k: v for k, v in load_kwargs.items() if k not in ("exchange", "timeframe")}
    if exchange != load_kwargs.get("exchange"):
        kwargs.pop("exchange_options", None)
        opts = load_kwargs.get("exchange_options_for")
        if opts is not None:
            kwargs["exchange_options"] = opts(exchange)
    kwargs.pop("exchange_options_for", None)
    return load_exchange(symbols, exchange=exchange, timeframe=timeframe, **kwargs)


def _market_name(ex: str, symbol: str, tf_text: str, tf_default: str) -> str:
    """``binance:ETH/USDT[@1d]``: how a market is named in errors."""
    return f"{ex}:{symbol}" + ("" if tf_text == tf_default else f"@{tf_text}")


def _load_job(job: tuple[str, str, list[str]], load_kwargs: dict) -> list:
    ex, tf_text, part = job
    # a sample market is daily data; any other is fetched at the timeframe scanned
    return _load_group(ex, part, "1d" if ex == "sample" else tf_text, dict(load_kwargs))


def _scan_loaded(job: tuple[str, str, list[str]], loaded: list, tf_default: str,
                 asof_ms: int | None, settings: ScanSettings, detail: bool = True
                 ) -> tuple[list[tuple[Candles, SeriesReport]], list[dict]]:
    """Scan one loaded chunk: its (candles, report) pairs and its errors (markets that
    failed to load first, then those that failed to scan), in the chunk's order."""
    ex, tf_text, part = job
    errors: list[dict] = []
    ok = []
    for s, c in zip(part, loaded, strict=True):
        if isinstance(c, BtcscanError):
            errors.append({"source": _market_name(ex, s, tf_text, tf_default),
                           "error": str(c), "exit_code": int(c.exit_code)})
        else:
            ok.append((s, c))
    scanned = scan_each([c for _, c in ok], parse_timeframe(tf_text), asof_ms,
                        replace(settings, timeframe=tf_text), detail=detail)
    pairs = []
    for (s, c), r in zip(ok, scanned, strict=True):
        if isinstance(r, BtcscanError):
            errors.append({"source": _market_name(ex, s, tf_text, tf_default),
                           "error": str(r), "exit_code": int(r.exit_code)})
        else:
            pairs.append((c, r))
    return pairs, errors


def scan_markets(
    markets: Sequence,
    *,
    exchange: str = "binance",
    timeframe: str | None = None,
    asof: str | datetime | None = None,
    settings: ScanSettings | None = None,
    load_kwargs: dict | None = None,
    chunk: int = 64,
    on_series: Callable[[Candles, SeriesReport], None] | None = None,
    detail: bool = True,
) -> ScanResult:
    """Scan a watchlist: ``markets`` are :class:`btcscan.watchlist.MarketSpec` or
    ``[EXCHANGE:]SYMBOL[@TF]`` texts, across exchanges (``sample`` = bundled history) and
    timeframes. One bad market (delisted, too little history) lands in ``errors`` and the
    others are scanned. Markets are loaded and scanned ``chunk`` at a time and their candles
    dropped after, so memory does not grow with the watchlist (``on_series`` sees each
    market's candles while they are held, e.g. to draw a chart).

    ``load_kwargs`` are passed to :func:`btcscan.data.market.load_markets` (cache_dir,
    offline, since_ms, now_ms, exchange_options...). The next chunk is loaded in a thread
    while this one is scanned (the one way a scan uses a second core: more scan threads or
    processes measured slower, see docs/watchlists.md). ``detail``: see :func:`scan_one`."""
    from btcscan.watchlist import MarketSpec, group_markets, parse_market

    settings = settings or ScanSettings()
    tf_default = timeframe or settings.timeframe
    specs = [m if isinstance(m, MarketSpec) else parse_market(m) for m in markets]
    asof_ms = parse_asof(asof)
    kwargs = dict(load_kwargs or {})
    jobs = [
        (ex, tf_text, symbols[i : i + chunk])
        for (ex, tf_text), symbols in group_markets(specs, exchange, tf_default).items()
        for i in range(0, len(symbols), chunk)
    ]
    reports: list[SeriesReport] = []
    errors: list[dict] = []
    for job, loaded in _each_loaded(jobs, lambda job: _load_job(job, kwargs)):
        pairs, errs = _scan_loaded(job, loaded, tf_default, asof_ms, settings, detail)
        errors += errs
        for c, r in pairs:
            reports.append(r)
            if on_series is not None:
                on_series(c, r)
        del loaded, pairs
    return ScanResult(series=tuple(reports), errors=tuple(errors))


__all__ = [
    "load_exchange",
    "load_file",
    "load_refs",
    "load_sources",
    "parse_asof",
    "scan",
    "scan_candles",
    "scan_markets",
    "scan_sources",
    "source_refs",
]
