"""CLI commands for live market data: ``fetch`` and the ``cache`` group, and the shared options.

The options are reusable decorators (:func:`market_options` applies them all) so ``scan``
takes the same ``--exchange --timeframe --since --cache-dir --config --offline``;
:func:`market_kwargs` turns their values into keyword arguments of
:func:`btcscan.data.market.load_markets`. :func:`register` adds the commands to a group.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from btcscan.errors import BtcscanError, ExitCode, UsageError

# ---------------------------------------------------------------------------------------------
# shared options

exchange_option = click.option(
    "--exchange", default="binance", show_default=True, metavar="ID",
    help="ccxt exchange id (binance, kraken, okx, coinbase, ...).")
timeframe_option = click.option(
    "--timeframe", default="1d", show_default=True, metavar="TF",
    help="Candle timeframe: 1h, 4h, 1d, 3d, 1w, 1M... (3d/1w/1M may be built from 1d).")
since_option = click.option(
    "--since", default=None, metavar="DATE",
    help="Earliest candle wanted, UTC (2024-01-01 or 2024-01-01T00:00:00Z); "
         "default: the exchange's earliest.")
cache_dir_option = click.option(
    "--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Candle cache directory [default: $BTCSCAN_CACHE_DIR or the user cache dir].")
config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="TOML config file [default: $BTCSCAN_CONFIG or the user config dir].")
offline_option = click.option(
    "--offline", is_flag=True, default=False,
    help="Use the cache only; make no network call.")

#: Where live candles come from (``scan`` has its own ``--timeframe``).
SOURCE_OPTIONS = (exchange_option, since_option, cache_dir_option, config_option,
                  offline_option)
MARKET_OPTIONS = (timeframe_option, *SOURCE_OPTIONS)


#: What to analyse (``scan`` and ``stats``): bundled markets, user files, or exchange symbols,
#: at a timeframe, as of a time. Defined once so both commands read alike.
DATA_OPTIONS = (
    click.argument("symbols", nargs=-1, metavar="[SYMBOL]..."),
    click.option(
        "--sample", is_flag=True,
        help="Use the bundled history (offline): BTC/USD Bitstamp daily 2011-08-18..2026-04-18 "
             "unless SYMBOLs name other bundled markets (BTC/USDT, ETH/USDT, SOL/USDT, "
             "XRP/USDT, BNB/USDT, DOGE/USDT, ADA/USDT)."),
    click.option(
        "--from-file", "files", multiple=True, metavar="PATH",
        help="Your own CSV or parquet OHLCV file(s); repeat the option, pass a glob, or list "
             "more paths as arguments; freqtrade's .json/.feather files too. Columns are matched "
             "case-insensitively; timestamps in s, ms or ISO-8601, one unit per file."),
    click.option(
        "-t", "--timeframe", default=None,
        help="Candle timeframe to analyse: the data's own (4h of a 4-hour file, 1h live...) "
             "or a coarser one built from it: 1d, 3d, 1w (weeks open Monday 00:00 UTC), 2w, "
             "1M (calendar months). [default: 1w; scan first takes scan.timeframe from the "
             "config]"),
    click.option(
        "--asof", metavar="DATE|DATETIME",
        help="Point in time: a date means the end of that UTC day; only candles closed by "
             "then are used. Default: the close of the last candle in the data."),
)


def data_options(fn: Callable) -> Callable:
    """Apply ``[SYMBOL]... --sample --from-file --timeframe --asof`` (``scan``, ``stats``)."""
    for opt in reversed(DATA_OPTIONS):
        fn = opt(fn)
    return fn


def source_options(fn: Callable) -> Callable:
    """Apply ``--exchange --since --cache-dir --config --offline`` (for ``scan``)."""
    for opt in reversed(SOURCE_OPTIONS):
        fn = opt(fn)
    return fn


def market_options(fn: Callable) -> Callable:
    """Apply ``--timeframe`` and the :func:`source_options` (for ``fetch``)."""
    for opt in reversed(MARKET_OPTIONS):
        fn = opt(fn)
    return fn


def parse_since(text: str | None) -> int | None:
    """``--since`` text -> epoch ms (UTC; a date alone means 00:00)."""
    if text is None:
        return None
    t = text.strip()
    try:
        d = datetime.fromisoformat(t)  # 3.11+ reads a trailing Z
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not a date: use 2024-01-01 or 2024-01-01T00:00:00Z"
        ) from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)  # naive means UTC
    return int(d.timestamp() * 1000)


def market_kwargs(*, exchange: str, timeframe: str, since: str | None, cache_dir: Path | None,
                  config_path: Path | None, offline: bool, **_: Any) -> dict[str, Any]:
    """Keyword arguments for :func:`btcscan.data.market.load_markets` from the options above."""
    from btcscan.config import exchange_options, load_config

    config = load_config(config_path)
    return {"exchange": exchange, "timeframe": timeframe, "since_ms": parse_since(since),
            "cache_dir": cache_dir, "offline": offline,
            "exchange_options": exchange_options(config, exchange)}


@contextmanager
def progress_for(symbols: Sequence[str], stream=None):
    """A ``progress`` callback drawing a rich bar on stderr, or ``None`` if it is not a TTY."""
    stream = sys.stderr if stream is None else stream
    if not (hasattr(stream, "isatty") and stream.isatty()):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(file=stream)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[candles]} candles"), console=console,
                  transient=True) as bar:
        task = bar.add_task("markets", total=len(symbols), candles=0)
        count = {"candles": 0}

        def update(symbol: str, new: int, finished: bool) -> None:
            count["candles"] += new
            bar.update(task, advance=1 if finished else 0, candles=count["candles"],
                       description=symbol)

        yield update


#: what --chart writes: a PNG or SVG image (matplotlib), an interactive HTML page (plotly)
CHART_SUFFIXES = (".png", ".svg", ".html")


def check_chart_path(path: str) -> None:
    """Refuse a --chart path that names no chart format, or cannot be a file: a folder, or
    under a file (exit 2)."""
    if not path.lower().endswith(CHART_SUFFIXES):
        raise UsageError(f"--chart {path!r}: the file name must end in .png, .svg or .html")
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"--chart {path}: is a folder; give a file name ending in .png, .svg "
                         "or .html")
    parent = p.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"--chart {path}: {parent} is a file, not a folder")


def fail(ctx: click.Context, exc: BtcscanError) -> None:
    """One stderr line and the error's exit code."""
    click.echo(f"btcscan: error: {exc}", err=True)
    ctx.exit(int(exc.exit_code))


def exit_code_of(results: Sequence[object]) -> ExitCode:
    """0 if all succeeded; the common code if all failed alike; PARTIAL (9) otherwise."""
    errors = [r for r in results if isinstance(r, BtcscanError)]
    if not errors:
        return ExitCode.OK
    if len(errors) < len(results):
        return ExitCode.PARTIAL
    codes = {e.exit_code for e in errors}
    return codes.pop() if len(codes) == 1 else ExitCode.PARTIAL


def _day(ms: int | None) -> str:
    return "-" if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


# ---------------------------------------------------------------------------------------------
# commands


@click.command("fetch")
@click.argument("symbols", nargs=-1, required=True)
@market_options
@click.pass_context
def fetch_command(ctx: click.Context, symbols: tuple[str, ...], **options: Any) -> None:
    """Fill or update the candle cache for SYMBOLS, without scanning.

    SYMBOLS are the exchange's unified names, e.g. BTC/USDT ETH/USDT.

    Only closed candles are cached; a refresh fetches only what is newer than the cache.
    Exit codes: 5 network, 6 exchange refused, 7 cache, 8 config, 9 some markets failed.
    """
    from btcscan.data.market import FetchReport, load_markets

    try:
        kwargs = market_kwargs(**options)
        reports: list[FetchReport] = []
        with progress_for(symbols) as progress:
            results = load_markets(list(symbols), progress=progress, reports=reports, **kwargs)
    except BtcscanError as exc:
        fail(ctx, exc)
        return
    by_symbol = {r.symbol: r for r in reports}
    for symbol, result in zip(symbols, results, strict=True):
        if isinstance(result, BtcscanError):
            click.echo(f"btcscan: error: {result}", err=True)
            continue
        rep = by_symbol.get(symbol)
        arr = result.frame[result.frame.columns[0]].dt.epoch("ms")
        line = (f"{result.source.exchange} {symbol} {result.timeframe}: {len(result)} closed "
                f"candles {_day(int(arr[0]))}..{_day(int(arr[-1]))}")
        if rep is not None and not kwargs["offline"]:
            line += f"; {rep.new_rows} new, " + (
                f"{rep.changed} changed upstream (cached kept), " if rep.changed else "") + (
                f"{rep.requests} request(s)")
        click.echo(line)
        for note in result.notes:
            click.echo(f"  note: {note}")
        for warning in result.warnings:
            click.echo(f"  warning: {warning}")
    code = exit_code_of(results)
    if code:
        ctx.exit(int(code))


@click.group("cache")
def cache_group() -> None:
    """Show or remove cached candles."""


@cache_group.command("list")
@cache_dir_option
def cache_list(cache_dir: Path | None) -> None:
    """List cached markets: exchange, symbol, timeframe, candles, first and last open, size."""
    from btcscan.data import cache

    directory = cache_dir or cache.default_cache_dir()
    entries = cache.list_entries(directory)
    if not entries:
        click.echo(f"cache {directory}: empty")
        return
    click.echo(f"cache {directory}:")
    rows = [("exchange", "symbol", "tf", "candles", "first", "last", "bytes")]
    for e in entries:
        rows.append((e.exchange, e.symbol, e.timeframe,
                     "unreadable" if e.rows < 0 else str(e.rows), _day(e.first_ms),
                     _day(e.last_ms), str(e.bytes)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


@cache_group.command("clear")
@click.argument("symbol", required=False)
@click.option("--exchange", default=None, metavar="ID", help="Only this exchange's files.")
@click.option("--timeframe", default=None, metavar="TF", help="Only this timeframe's files.")
@cache_dir_option
@click.pass_context
def cache_clear(ctx: click.Context, symbol: str | None, exchange: str | None,
                timeframe: str | None, cache_dir: Path | None) -> None:
    """Remove cached candles: all of them, or those of SYMBOL (and --exchange/--timeframe)."""
    from btcscan.data import cache

    directory = cache_dir or cache.default_cache_dir()
    try:
        removed = cache.clear(directory, symbol, exchange=exchange, timeframe=timeframe)
    except BtcscanError as exc:
        fail(ctx, exc)
        return
    what = f" for {symbol}" if symbol else ""
    click.echo(f"removed {len(removed)} cache file(s){what} from {directory}")


def register(group: click.Group) -> None:
    """Add ``fetch`` and ``cache`` to the CLI group."""
    group.add_command(fetch_command)
    group.add_command(cache_group)
