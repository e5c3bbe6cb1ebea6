"""The ``btcscan`` command: parse options, call :mod:`btcscan.api`, render, exit.

Only this module turns exceptions into exit codes (see :class:`btcscan.errors.ExitCode`).
Heavy imports (polars, numba, rich) happen inside commands, so ``--version`` and
``--help`` stay fast, and ccxt is imported only when data is fetched.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from btcscan import __version__
from btcscan.cli_context import context_options
from btcscan.cli_data import check_chart_path, data_options, source_options
from btcscan.cli_data import register as register_data_commands
from btcscan.cli_stats import register as register_stats_command
from btcscan.errors import BtcscanError, CacheError, ExitCode, UsageError

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 internal error (a bug: rerun with --debug); 2 usage error; "
    "3 a --fail-on condition holds; 4 bad or insufficient data; 5 network; 6 exchange "
    "refused; 7 cache; 8 config; 9 some markets failed; 10 notification failed."
)


def _debug_requested(args: list[str]) -> bool:
    return "--debug" in args or os.environ.get("BTCSCAN_DEBUG", "") not in ("", "0")


def _say_error(message: str) -> None:
    click.echo(f"btcscan: error: {message}", err=True)


class BtcscanGroup(click.Group):
    """A click group that maps errors to one stderr line and a documented exit code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        args = list(sys.argv[1:] if args is None else args)
        debug = _debug_requested(args)
        try:
            if not {"-h", "--help", "-V", "--version"} & set(args):
                from btcscan.config import check_environment

                check_environment()  # an unknown BTCSCAN_* or a bad value: exit 8
            rv = super().main(args, prog_name or "btcscan", complete_var, False, **extra)
            code = rv if isinstance(rv, int) else 0
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
            code = ExitCode.USAGE
        except click.ClickException as exc:
            cmd = exc.ctx.command_path if getattr(exc, "ctx", None) else "btcscan"
            _say_error(f"{exc.format_message()} (see '{cmd} --help')")
            code = exc.exit_code
        except click.exceptions.Abort:
            _say_error("aborted")
            code = 130
        except BtcscanError as exc:
            if debug:
                traceback.print_exc()
            _say_error(str(exc))
            code = exc.exit_code
        sys.exit(int(code))


def debug_option(f):
    return click.option(
        "--debug", is_flag=True, expose_value=False, is_eager=True,
        help="Show the full traceback when something fails (also BTCSCAN_DEBUG=1).",
    )(f)


@click.group(cls=BtcscanGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                  "max_content_width": 100},
             epilog=EXIT_CODES_HELP)
@click.version_option(__version__, "-V", "--version", prog_name="btcscan")
@debug_option
def cli() -> None:
    """Say what a crypto chart says, with numbers you can check.

    btcscan reads OHLCV candles (the bundled BTC/USD history, your CSV/parquet files,
    or an exchange through ccxt) and reports, point in time, the last closed candle,
    SMA supports, RSI, the level ladder around the price, and where each number came from.

    \b
    Start here:
      btcscan scan --sample                      weekly BTC/USD on the bundled history
      btcscan scan --sample --asof 2025-06-30    the same, as it looked then
      btcscan scan --from-file my.csv -t 1d      your own candles
      btcscan scan --sample --format json        JSON on stdout, nothing else there
    """


@cli.command("scan", epilog=EXIT_CODES_HELP)
@data_options  # [SYMBOL]... --sample --from-file --timeframe --asof (shared with stats)
@click.option("--symbols-file", "symbols_files", multiple=True, metavar="PATH",
              help="Markets to scan, one per line ([EXCHANGE:]SYMBOL[@TF], # comments); "
                   "repeatable, adds to SYMBOLs.")
@click.option("--top", type=click.IntRange(min=1), default=None, metavar="N",
              help="Also scan the exchange's N most traded markets (24 h quote volume).")
@click.option("--quote", default=None, metavar="CCY",
              help="With --top: only markets quoted in CCY, e.g. USDT.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "ndjson", "csv"]),
              default="table", show_default=True,
              help="table for a terminal. Machine formats print only data on stdout (messages "
                   "go to stderr): json one document (schema: btcscan/schemas/scan.schema.json); "
                   "ndjson one line per series, for many markets; csv one row per signal.")
@click.option("--events", "show_events", is_flag=True,
              help="List every wedge and divergence event over the scanned history, each with "
                   "the candle whose close made it knowable (JSON always has them).")
@click.option("--hidden-divergences", is_flag=True,
              help="Also report hidden RSI divergences (regular ones are always reported).")
@click.option("--pattern-param", "pattern_params", multiple=True, metavar="KEY=VALUE",
              help="Set a pattern-engine parameter, e.g. pivot_left=3 or touch_tolerance_atr=0.5 "
                   "(repeatable; names and defaults: btcscan.patterns.PatternParams; the config "
                   "file's [patterns] table sets them too, the command line wins).")
@click.option("--chart", "chart", metavar="PATH.png|PATH.svg|PATH.html",
              help="Also draw a chart: candles of the scanned timeframe with volume, SMAs, "
                   "wedge lines, breakouts, targets, round numbers, RSI with divergences. PNG "
                   "(1600x900) or SVG; .html writes an interactive page (zoom, pan, hover; "
                   "works offline). Several markets write PATH-SYMBOL.EXT each.")
@click.option("--chart-events", is_flag=True,
              help="With --chart: also mark every past wedge and divergence event at the "
                   "candle whose close made it known (an HTML chart always lists them in its "
                   "legend, hidden until clicked; this shows them).")
@click.option("--fail-on", "fail_on", metavar="CONDITION[,CONDITION...]",
              help="Exit with code 3 when any condition holds on the last closed candle, e.g. "
                   "'below-sma:200,drawdown:30'. Conditions: wedge-breakout[:N], "
                   "wedge-breakdown[:N], bearish-divergence[:N], bullish-divergence[:N] (on one "
                   "of the last N closed candles, default 1), below-sma:N, above-sma:N, "
                   "crossed-below-sma:N, crossed-above-sma:N (SMA of N candles), drawdown:PCT "
                   "(at least PCT % below the all-time high), rsi-below:RSI, rsi-above:RSI, "
                   "close-below:PRICE, close-above:PRICE, near-level:PCT (the close within PCT "
                   "% of a ladder level). An empty list is a usage error.")
@click.option("--new-only", is_flag=True,
              help="Report only signals that no earlier run with the same --state reported "
                   "(for cron). Needs --state.")
@click.option("--state", "state", metavar="PATH",
              help="JSON file remembering reported signals and undelivered notifications; "
                   "written atomically under a lock, so overlapping runs are safe.")
@click.option("-q", "--quiet", is_flag=True,
              help="Print nothing at all when there is no (new) signal: silent cron mail. "
                   "With --new-only, a table run prints only the new signals, not the report.")
@click.option("--notify", "notify", multiple=True, metavar="URL",
              help="Send new signals here (repeatable; default: the config's [notify] urls). "
                   "http(s):// POSTs btcscan's JSON; any other URL is apprise's (tgram://, "
                   "discord://, slack://, mailto://, ntfy://, json://, form://...): a message "
                   "per market. Checked before the scan (exit 2). A failed delivery exits 10 "
                   "and stays in --state's outbox for the next run.")
@click.option("--no-notify", is_flag=True,
              help="Send nothing this run, whatever the config's [notify] says.")
@click.option("--notify-timeout", type=click.FloatRange(min=0.01), default=None,
              help="Seconds to wait for each notification attempt [default: the config's "
                   "notify.timeout or 10].")
@click.option("--notify-retries", type=click.IntRange(min=0), default=None,
              help="Extra attempts after a failure (webhook: timeouts, connection errors, "
                   "429 and 5xx, waiting 1, 2, 4... s; apprise: any failure, 1 s apart) "
                   "[default: the config's notify.retries or 3].")
@click.option("--power-law/--no-power-law", "power_law", default=None,
              help="Power-law context (fit on the series + a published set). Default: only "
                   "for markets whose base is BTC.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Set a scan setting for this run, e.g. sma_periods=50,200 or rsi_period=21 "
                   "(repeatable; keys: `btcscan config show`).")
@click.option("--detail", is_flag=True,
              help="With several markets, also print each market's full report after the "
                   "summary table.")
@source_options  # live markets (issue #3): --exchange --since --cache-dir --config --offline
@context_options  # --symbol --sentiment --context-file (btcscan/cli_context.py)
@debug_option
def scan_cmd(symbols: tuple[str, ...], sample: bool, files: tuple[str, ...],
             symbols_files: tuple[str, ...], top: int | None, quote: str | None,
             timeframe: str | None, asof: str | None, fmt: str, show_events: bool,
             hidden_divergences: bool, pattern_params: tuple[str, ...], chart: str | None,
             chart_events: bool,
             fail_on: str | None, new_only: bool, state: str | None, quiet: bool,
             notify: tuple[str, ...], no_notify: bool, notify_timeout: float | None,
             notify_retries: int | None,
             power_law: bool | None, sets: tuple[str, ...], detail: bool,
             **market) -> int:
    """Scan markets and report levels, SMA supports, RSI and long-run context, point in time.

    \b
    Examples:
      btcscan scan --sample
      btcscan scan --sample ETH/USDT SOL/USDT --timeframe 1d
      btcscan scan --from-file data/*.csv --timeframe 1w --asof 2025-03-10
      btcscan scan --sample --chart btc.png
      btcscan scan --sample -t 1d --chart btc.html                   (interactive, offline)
      btcscan scan --sample --fail-on below-sma:50,drawdown:30      (CI: exit 3 if any holds)
      btcscan scan --sample -t 1d --new-only --state s.json --quiet --notify URL   (cron)
      btcscan scan --config configs/majors-daily.toml                (a preset's watchlist)
      btcscan scan binance:BTC/USDT@1w kraken:ETH/USD --top 20 --quote USDT
    """
    compile_once(quiet=quiet)
    from dataclasses import replace

    from btcscan import api
    from btcscan.alerts.conditions import evaluate, parse_conditions, sma_periods_needed
    from btcscan.alerts.delivery import run_alerts
    from btcscan.alerts.message import record
    from btcscan.alerts.signals import alerts_of

    conditions = parse_conditions(fail_on)
    if new_only and not state:
        raise click.UsageError("--new-only needs --state PATH to remember what was reported")
    if chart:
        check_chart_path(chart)  # before the scan: a typo costs nothing
    elif chart_events:
        raise click.UsageError("--chart-events marks events on a chart: add --chart PATH")
    if quote and not top:
        raise click.UsageError("--quote picks among the --top N markets: add --top N")
    config, where = _config(market.get("config_path"))
    eff = _resolve(config, where, timeframe, power_law, hidden_divergences, sets, pattern_params)
    dests = _notify_destinations(config, where, notify, no_notify, notify_timeout,
                                 notify_retries)  # checked before the scan: exit 2 (or 8)
    settings = replace(eff.settings, sma_periods=tuple(
        sorted(set(eff.settings.sma_periods) | set(sma_periods_needed(conditions)))))
    tf = settings.timeframe
    charts: list = []
    # several markets printed as the summary table (with its alerts and verdicts) and
    # nothing else: the reports leave out what only a full report reads (api.scan_one)
    summary_view = fmt == "table" and not detail and not chart
    file_symbol, sentiment = market.pop("file_symbol"), market.pop("sentiment")
    metrics = _metrics(sentiment, market.pop("context_files"), market)
    if file_symbol is not None and not files:
        raise click.UsageError("--symbol names the market of a --from-file file: add "
                               "--from-file PATH")
    if files:
        files, symbols = files + symbols, ()
    preset_sample = (sample and not symbols and not symbols_files and not top
                     and bool(config.get("watchlist", {}).get("markets")))
    if files or (sample and not symbols_files and not top and not preset_sample):
        _unused(("since", "exchange", "cache_dir", "offline"),
                "--from-file" if files else "--sample", sentiment)
        refs = api.source_refs(sample=sample, symbols=symbols, files=files,
                               file_symbol=file_symbol)
        result = api.scan_sources(refs, timeframe=tf, asof=asof, settings=settings,
                                  detail=not (summary_view and len(refs) > 1),
                                  on_series=(lambda c, r: charts.append((c, r))) if chart
                                  else None)
        load_code = 0
    else:
        if preset_sample:
            _unused(("since", "exchange", "cache_dir", "offline"), "--sample", sentiment)
        result, load_code = _scan_watchlist(
            config, symbols, symbols_files, top, quote, sample, tf, asof, settings,
            market, keep=bool(chart), summary_view=summary_view)
        charts = list(result[1])
        result = result[0]
    if metrics:  # --sentiment, --context-file: each report as of its own scan time
        from btcscan.analysis.context import report_with_metrics, with_metrics

        result = with_metrics(result, metrics)
        charts = [(c, report_with_metrics(r, metrics)) for c, r in charts]
    verdicts = evaluate(conditions, result.series)
    alerts = tuple(a for r in result.series for a in alerts_of(r))
    signals = tuple(a.signal for a in alerts)

    tables: list[bool] = []  # whether the report (with its verdicts) was printed as a table

    def show(shown) -> None:
        _emit(result, fmt, shown, verdicts, new_only, quiet, events=show_events,
              confirmed=signals, detail=detail)
        sys.stdout.flush()  # on stdout before the state says "reported" (kill -9 safe)
        tables.append(fmt == "table" and not (quiet and not shown))

    try:
        failures = run_alerts(
            signals, show, state=state, new_only=new_only, destinations=dests,
            records={a.signal.key: record(a) for a in alerts} if dests else None,
            stamp=max(r.asof for r in result.series).strftime("%Y-%m-%dT%H:%M:%SZ"),
            warn=lambda line: click.echo(f"btcscan: warning: {line}", err=True))
    except CacheError:  # the --state file cannot be locked, read or written (exit 7)
        if not new_only and not tables:  # the report does not depend on it: keep it
            show(signals)
        raise
    # charts after the report and the state: a chart that cannot be written loses neither
    chart_error = _charts(charts, settings, chart, quiet, chart_events) if charts else None
    shown_in_table = any(tables)
    for v in verdicts:  # once: the table lists verdicts itself, machine formats need the line
        if v.holds and not shown_in_table:
            click.echo(f"btcscan: condition met: {v.condition} on {v.market}: {v.detail}", err=True)
    if failures:  # exit 10 (or 2) wins over 3 and 9: the run did not do all it was asked
        kept = "; kept in --state's outbox, sent again next run" if state else ""
        for f in failures[1:]:
            _say_error(f"{f}{kept}")
        raise type(failures[0])(f"{failures[0]}{kept}")
    if chart_error is not None:
        raise chart_error
    if load_code:
        return load_code  # some markets failed (9): an error wins over a condition
    return ExitCode.CONDITION_MET if any(v.holds for v in verdicts) else ExitCode.OK


def _notify_destinations(config, where, urls, off, timeout, retries):
    """--notify URLs (else the config's [notify] urls), checked now: a bad one exits 2 from
    the command line, 8 from the config. Timeouts and retries: flag > config > default."""
    table = config.get("notify", {})
    if off:
        if urls:
            raise click.UsageError("--no-notify and --notify contradict each other")
        return []
    given = list(urls)
    if any(not u.strip() for u in given):
        raise click.UsageError("--notify needs a URL (got an empty one)")
    if not (given or table.get("urls")):
        return []  # no notification: urllib and apprise stay unloaded
    from btcscan.alerts.notify import DEFAULT_RETRIES, DEFAULT_TIMEOUT, destinations

    return destinations(
        given or table.get("urls", []), where=None if given else where,
        timeout=timeout if timeout is not None else table.get("timeout", DEFAULT_TIMEOUT),
        retries=retries if retries is not None else table.get("retries", DEFAULT_RETRIES))


def compile_notice(cache_dir: str | None, err=None, quiet: bool = False) -> bool:
    """On a terminal, say on stderr that the kernels compile now, once, and about how long
    it takes; nothing with ``quiet`` or when stderr is not a terminal. Returns whether it
    said so."""
    from btcscan.kernels.warm import ESTIMATE_S

    err = sys.stderr if err is None else err
    if quiet or not (hasattr(err, "isatty") and err.isatty()):
        return False
    where = f"; cached afterwards in {cache_dir}" if cache_dir else " (no writable cache)"
    err.write(f"btcscan: compiling the scan kernels once (about {ESTIMATE_S} s{where})\n")
    err.flush()
    return True


def compile_once(quiet: bool = False) -> None:
    """Before a scan: when the kernels of this version are not in numba's cache yet,
    compile all of them now (after :func:`compile_notice`), so no later scan compiles."""
    from btcscan.kernels import _cache

    if _cache.is_warm():
        return
    compile_notice(_cache.CACHE_DIR, quiet=quiet)
    from btcscan.kernels.warm import compile_all

    compile_all(wait=False)  # the scan starts while the child compiles (see compile_all)


@cli.command("warmup")
@debug_option
def warmup_cmd() -> None:
    """Compile every scan kernel into numba's cache now (for a Docker image or a CI cache).

    The cache directory is printed on stderr with the time taken; it is one directory per
    version of the kernels' sources ($NUMBA_CACHE_DIR, if set, is used as it is).
    """
    from btcscan.kernels import _cache
    from btcscan.kernels.warm import compile_all

    took = compile_all()
    where = _cache.CACHE_DIR or "nowhere (no writable cache location: nothing is kept)"
    click.echo(f"btcscan: scan kernels compiled in {took:.1f} s; cache: {where}", err=True)


def _config(path):
    from btcscan.config import default_config_path, load_config

    cfg = load_config(path)
    return cfg, str(path if path is not None else default_config_path())


def _resolve(config, where, timeframe, power_law, hidden, sets, pattern_params):
    from btcscan.effective import resolve

    return resolve(config, where, timeframe=timeframe, power_law=power_law,
                   hidden_divergences=hidden, sets=sets, pattern_params=pattern_params)


def _scan_watchlist(config, symbols, symbols_files, top, quote, sample, tf, asof, settings,
                    market, *, keep: bool, summary_view: bool):
    """Markets from arguments, --symbols-file, --top, else the config's [watchlist]; scanned
    a chunk at a time (the reports in full unless ``summary_view`` and several markets).
    Returns ((result, [(candles, report)] for charts), exit code)."""
    from btcscan import api
    from btcscan.cli_data import market_kwargs, progress_for
    from btcscan.config import exchange_options
    from btcscan.watchlist import fetch_top, group_markets, read_symbols_file, specs_of

    wl = config.get("watchlist", {})
    exchange = market["exchange"]
    if exchange == "binance" and wl.get("exchange") and not symbols:
        exchange = wl["exchange"]  # the option's default gives way to the config's
    offline = sample or market["offline"]  # no network connection, whatever else is given
    if top and offline:
        raise click.UsageError("--top N asks the exchange for its most traded markets: it "
                               "needs the network, so not with --sample or --offline")
    specs = specs_of(symbols, "SYMBOL")
    for f in symbols_files:
        specs += read_symbols_file(f)
    if sample:  # --sample with a watchlist: bare symbols are bundled markets
        specs = [s if s.exchange else replace_exchange(s, "sample") for s in specs]
        live = [s.text() for s in specs if s.exchange != "sample"]
        if live:
            raise click.UsageError(f"--sample scans the bundled markets only, but {live[0]} "
                                   "names an exchange: drop --sample, or use --offline to "
                                   "read that market from the cache")
    if top:
        specs += specs_of(fetch_top(exchange, top, quote, exchange_options(config, exchange)))
    if not specs and sample and wl.get("markets"):  # a preset's watchlist, from the sample
        from btcscan.cli_context import sample_specs

        specs = sample_specs(specs_of(wl["markets"], "watchlist.markets"),
                             lambda m: click.echo(f"btcscan: note: {m}", err=True))
    if not specs and not sample:
        specs = specs_of(wl.get("markets", []), "watchlist.markets")
        if wl.get("top"):
            if offline:
                raise click.UsageError("the config's watchlist.top asks the exchange for its "
                                       "most traded markets: not with --offline; list the "
                                       "markets instead")
            specs += specs_of(fetch_top(exchange, wl["top"], wl.get("quote"),
                                        exchange_options(config, exchange)))
    if not specs:
        raise click.UsageError("nothing to scan: give --sample, --from-file PATH, SYMBOLs, "
                               "--symbols-file, --top N, or a config with [watchlist] markets")
    kwargs = market_kwargs(timeframe=tf, **{**market, "exchange": exchange})
    kwargs["exchange_options_for"] = lambda ex: exchange_options(config, ex)
    kept: list = []
    live = [s.text() for s in specs if (s.exchange or exchange) != "sample"]
    with progress_for(live) as progress:  # a bar on a terminal while candles are fetched
        if progress is not None and not kwargs["offline"]:
            kwargs["progress"] = progress
        many = sum(map(len, group_markets(specs, exchange, tf).values())) > 1
        result = api.scan_markets(specs, exchange=exchange, timeframe=tf, asof=asof,
                                  settings=settings, load_kwargs=kwargs,
                                  on_series=(lambda c, r: kept.append((c, r))) if keep
                                  else None, detail=not (summary_view and many))
    lines = []
    for e in result.errors:
        named = e["error"].startswith(e["source"].split(":", 1)[0] + " ")  # "binance X/Y: ..."
        lines.append(e["error"] if named else f"{e['source']}: {e['error']}")
    codes = {e["exit_code"] for e in result.errors}
    if not result.series and len(lines) == 1:  # one market, one line: its own error
        raise _AllFailed(result.errors, codes.pop(), lines[0])
    for line in lines:
        _say_error(line)
    if not result.series:
        if not result.errors:
            raise click.UsageError("nothing was scanned")
        raise _AllFailed(result.errors, codes.pop() if len(codes) == 1 else ExitCode.PARTIAL)
    return (result, kept), (ExitCode.PARTIAL if result.errors else 0)


def _metrics(sentiment: bool, context_files: tuple[str, ...], market: dict) -> list:
    if not (sentiment or context_files):
        return []
    from btcscan.cli_context import load_metrics

    return load_metrics(sentiment, context_files, market.get("cache_dir"),
                        bool(market.get("offline")))


def _unused(names: tuple[str, ...], what: str, sentiment: bool) -> None:
    from btcscan.cli_context import report_unused

    report_unused(click.get_current_context(), what, names, sentiment=sentiment,
                  say=lambda m: click.echo(f"btcscan: note: {m}", err=True))


def replace_exchange(spec, exchange: str):
    from dataclasses import replace

    return replace(spec, exchange=exchange)


class _AllFailed(BtcscanError):
    """Every market of a watchlist failed (each was reported on stderr)."""

    def __init__(self, errors, code, message: str | None = None) -> None:
        super().__init__(message or f"all {len(errors)} market(s) failed (see the lines above)")
        self.exit_code = ExitCode(code)


register_data_commands(cli)  # fetch, cache list, cache clear (btcscan/cli_data.py)
register_stats_command(cli)  # stats: walk-forward hit rates (issue #7, btcscan/cli_stats.py)


@cli.group("config")
def config_group() -> None:
    """Show the effective settings and where each came from."""


@config_group.command("show")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML config file [default: $BTCSCAN_CONFIG or the user config dir].")
@click.option("-t", "--timeframe", default=None, help="As scan's --timeframe.")
@click.option("--power-law/--no-power-law", "power_law", default=None,
              help="As scan's --power-law.")
@click.option("--hidden-divergences", is_flag=True, help="As scan's --hidden-divergences.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="As scan's --set.")
@click.option("--pattern-param", "pattern_params", multiple=True, metavar="KEY=VALUE",
              help="As scan's --pattern-param.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def config_show(config_path: str | None, timeframe: str | None, power_law: bool | None,
                hidden_divergences: bool, sets: tuple[str, ...],
                pattern_params: tuple[str, ...], fmt: str) -> None:
    """Print every scan setting, its value and its source: default, file, environment
    (BTCSCAN_SCAN_<KEY>, BTCSCAN_PATTERNS_<KEY>) or flag. Precedence: flag > environment >
    file > default. The [watchlist] of the file is listed after.

    \b
    Examples:
      btcscan config show --config configs/btc-weekly.toml
      BTCSCAN_SCAN_RSI_PERIOD=21 btcscan config show --set sma_periods=50,200
    """
    import json
    from pathlib import Path

    from btcscan.render.serial import to_jsonable

    path = Path(config_path) if config_path else None
    config, where = _config(path)
    eff = _resolve(config, where, timeframe, power_law, hidden_divergences, sets, pattern_params)
    exists = path is not None or Path(where).exists()
    wl = config.get("watchlist", {})
    if fmt == "json":
        doc = {"config_file": where if exists else None,
               "settings": {k: {"value": to_jsonable(v), "source": src}
                            for k, v, src in eff.rows()},
               "watchlist": wl}
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"config file: {where}" + ("" if exists else " (not found: defaults only)"))
    rows = [(k, _toml_value(v), src) for k, v, src in eff.rows()]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    for k, v, src in rows:
        click.echo(f"{k:<{w0}}  {v:<{w1}}  {src}")
    for k, v in wl.items():
        click.echo(f"{'watchlist.' + k:<{w0}}  {_toml_value(v):<{w1}}  file {where}")


def _toml_value(v) -> str:
    if v is None:
        return "(auto)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, str):
        return f'"{v}"'
    return repr(v)


def chart_path(path: str, symbol: str, many: bool):
    """Where one market's chart goes: PATH, or PATH-SYMBOL.ext when there are several."""
    from pathlib import Path

    p = Path(path)
    if not many:
        return p
    return p.with_name(f"{p.stem}-{''.join(ch if ch.isalnum() else '-' for ch in symbol)}"
                       f"{p.suffix}")


def write_chart_file(candles, report, settings, out, **kwargs) -> None:
    """:func:`btcscan.render.chart.write_chart`; a path that cannot be written is a usage
    error (exit 2), with the system's reason."""
    from btcscan.render.chart import write_chart

    try:
        write_chart(candles, report, settings, out, **kwargs)
    except OSError as exc:
        raise UsageError(f"--chart {out}: cannot write it ({exc.strerror or exc}); the "
                         "scan's output is unaffected") from None


def _charts(pairs, settings, path: str, quiet: bool, events: bool = False) -> UsageError | None:
    """Write the charts; the first that cannot be written is returned (exit 2), not raised,
    so the report already printed and the state already recorded stand."""
    from dataclasses import replace

    for c, r in pairs:
        out = chart_path(path, r.source.symbol, len(pairs) > 1)
        try:
            write_chart_file(c, r, replace(settings, timeframe=r.timeframe), out,
                             pattern_events=events)
        except UsageError as exc:
            return exc
        if not quiet:
            click.echo(f"btcscan: chart written to {out}", err=True)
    return None


def _emit(result, fmt: str, signals=(), verdicts=(), new_only: bool = False,
          quiet: bool = False, *, events: bool = False, confirmed=(), detail: bool = False
          ) -> None:
    """The one place output is written: data on stdout, warnings on stderr. Several
    markets make one summary table, sorted (btcscan.render.summary.rank)."""
    if quiet and not signals:
        return
    many = len(result.series) + len(result.errors) > 1
    for r in result.series:
        for w in r.warnings:
            click.echo(f"btcscan: warning: {r.source.label}: {w}", err=True)
    out = sys.stdout
    if fmt in ("json", "ndjson"):
        from btcscan.render.serial import write_json, write_ndjson

        (write_json if fmt == "json" else write_ndjson)(result, out, signals, verdicts, new_only)
        return
    if fmt == "csv":
        from btcscan.render.serial import write_csv

        write_csv(result, out, signals)
        return
    from dataclasses import replace

    from rich.console import Console

    from btcscan.render.table import render_alerts, render_table

    console = Console(file=out, highlight=False)
    if quiet and new_only:  # cron mail: the few new signals, not the whole report
        render_alerts(signals, verdicts, new_only, console)
        return
    if many:  # the table is sorted; machine formats keep the scan's order
        from btcscan.render.summary import rank, render_summary

        result = rank(result, signals, confirmed)
        render_summary(result, signals, console)
        if detail:
            render_table(replace(result, errors=()), console, events=events)
    else:
        render_table(result, console, events=events)
    render_alerts(signals, verdicts, new_only, console)


def _fast_exit(exc: SystemExit) -> None:
    if os.environ.get("BTCSCAN_NORMAL_EXIT", "") not in ("", "0"):
        return
    if exc.code is not None and not isinstance(exc.code, int):
        return  # a message to print: the normal path prints it
    code = exc.code or 0
    import atexit

    atexit._run_exitfuncs()  # what must happen at exit still does (e.g. the first run
    # waits for its compiling child and marks the cache warm); only the teardown is skipped
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        return  # let the normal path report it
    os._exit(code)


def console_main() -> None:
    """The installed ``btcscan`` command: :func:`main`, then ``os._exit`` once stdout and
    stderr are flushed. Interpreter shutdown after numba has run costs ~0.2 s (LLVM objects
    torn down one by one) and nothing of ours needs it (files are written and closed, locks
    released, thread pools joined by then). ``BTCSCAN_NORMAL_EXIT=1`` keeps the normal
    shutdown; :func:`main` (``python -m btcscan``, callers in Python) always does."""
    try:
        main()
    except SystemExit as exc:
        _fast_exit(exc)
        raise


def main() -> None:
    """Entry point: unexpected errors become one line and exit code 1 (SystemExit)."""
    args = sys.argv[1:]
    try:
        cli.main(args=args, prog_name="btcscan")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        _say_error("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - last resort: a bug, said in one line
        if _debug_requested(args):
            raise
        _say_error(f"internal error: {type(exc).__name__}: {exc} "
                   "(rerun with --debug for the traceback and report it)")
        sys.exit(ExitCode.INTERNAL)
