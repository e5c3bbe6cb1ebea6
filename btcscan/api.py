"""The Python entry points: load candles from a source, scan them point in time.

    >>> import btcscan.api as bs
    >>> result = bs.scan(sample=True, timeframe="1w", asof="2025-06-30")
    >>> result.series[0].smas[0].state
    'above'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from btcscan.analysis.series import analyse
from btcscan.data.files import expand_paths, read_ohlcv_file
from btcscan.data.sample import DEFAULT_SAMPLE, load_sample
from btcscan.data.schema import Candles, Source, normalise
from btcscan.errors import DataError, UsageError
from btcscan.models import ScanResult, SeriesReport
from btcscan.settings import ScanSettings
from btcscan.timeframes import Timeframe, infer_timeframe_ms, parse_timeframe, timeframe_from_ms


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
        if len(s) == 10:
            day = datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=UTC)
            return int((day + timedelta(days=1)).timestamp() * 1000)
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"cannot read --asof {text!r}: use a date like 2025-06-30 (end of that UTC day) "
            "or a time like 2025-06-30T12:00Z"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def load_file(path: Path) -> Candles:
    """Read and validate one user file; its timeframe is inferred from the candle spacing.
    Repairs (sorting, dropping exact duplicates) are listed in ``Candles.warnings``."""
    frame, warnings = normalise(read_ohlcv_file(path), str(path))
    if frame.height < 2:
        raise DataError(f"{path}: only {frame.height} candle; need a history of candles")
    tf = timeframe_from_ms(infer_timeframe_ms(frame["open_time"].dt.epoch("ms").to_numpy()))
    source = Source(kind="file", symbol=path.stem, path=str(path))
    return Candles(frame=frame, timeframe=tf, source=source, warnings=tuple(warnings))


def load_sources(*, sample: bool = False, symbols: Sequence[str] = (),
                 files: Sequence[str] = ()) -> list[Candles]:
    """Candles for a scan: bundled sample markets and/or user files."""
    series: list[Candles] = []
    if sample:
        for sym in symbols or (DEFAULT_SAMPLE,):
            series.append(load_sample(sym))
    if files:
        for path in expand_paths(list(files)):
            series.append(load_file(path))
    if not series:
        raise UsageError("nothing to scan: give --sample, --from-file PATH, or SYMBOL with --exchange")
    return series


def scan_candles(series: Sequence[Candles], *, timeframe: str | Timeframe = "1w",
                 asof: str | datetime | None = None,
                 settings: ScanSettings | None = None) -> ScanResult:
    """Scan already-loaded candles point in time; one :class:`SeriesReport` each."""
    tf = timeframe if isinstance(timeframe, Timeframe) else parse_timeframe(timeframe)
    asof_ms = parse_asof(asof)
    reports: list[SeriesReport] = [analyse(c, tf, asof_ms, settings) for c in series]
    return ScanResult(series=tuple(reports))


def scan(*, sample: bool = False, symbols: Sequence[str] = (), files: Sequence[str] = (),
         timeframe: str = "1w", asof: str | datetime | None = None,
         settings: ScanSettings | None = None) -> ScanResult:
    """Load and scan. ``sample=True`` scans the bundled BTC/USD history (or ``symbols``)."""
    settings = settings or replace(ScanSettings(), timeframe=timeframe)
    tf = parse_timeframe(timeframe)  # validate before any I/O
    series = load_sources(sample=sample, symbols=symbols, files=files)
    return scan_candles(series, timeframe=tf, asof=asof, settings=settings)


def load_exchange(symbols: Sequence[str], **kwargs) -> list:
    """Closed candles of live markets through the cache (issue #3): one :class:`Candles` or
    :class:`btcscan.errors.BtcscanError` per symbol. Keyword arguments are those of
    :func:`btcscan.data.market.load_markets` (exchange, timeframe, since_ms, cache_dir,
    offline, exchange_options, now_ms, progress)."""
    from btcscan.data.market import load_markets

    return load_markets(list(symbols), **kwargs)


__all__ = ["load_exchange", "load_file", "load_sources", "parse_asof", "scan", "scan_candles"]
