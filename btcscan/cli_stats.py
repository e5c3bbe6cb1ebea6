"""The ``btcscan stats`` command (issue #7): walk-forward hit rates of past signals.

Same data options as ``scan`` (bundled sample, files, exchange through the cache,
``--timeframe``, ``--asof``); computes :func:`btcscan.stats.run.stats_candles` and renders
it (:mod:`btcscan.render.stats`). Registered on the CLI group by :func:`register`.
"""

from __future__ import annotations

import sys

import click

from btcscan.cli_context import symbol_option
from btcscan.cli_data import data_options, source_options
from btcscan.errors import BtcscanError, ConfigError, UsageError


@click.command("stats")
@data_options  # [SYMBOL]... --sample --from-file --timeframe --asof (shared with scan)
@click.option("--horizon", type=click.IntRange(min=1), default=None, metavar="CANDLES",
              help="Candles after an event before it counts as expired. Default per timeframe: "
                   "1d 90, 3d 60, 1w 52, 1M 24 (others 100).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True,
              help="json: one document with every scored event (schema: "
                   "btcscan/schemas/stats.schema.json).")
@click.option("--events", "show_events", is_flag=True,
              help="Also list every scored event (JSON always has them).")
@click.option("--pattern-param", "pattern_params", multiple=True, metavar="KEY=VALUE",
              help="Set a pattern-engine parameter, as for scan (hidden divergences are always "
                   "included here).")
@click.option("--chart", "chart", metavar="PATH.png|PATH.svg|PATH.html",
              help="Also draw the whole history with every past event marked at the candle it "
                   "became known, coloured by outcome (.html: an interactive page, each group "
                   "toggled in its legend).")
@source_options
@symbol_option  # --symbol NAME: the --from-file file's market (btcscan/cli_context.py)
def stats_cmd(symbols: tuple[str, ...], sample: bool, files: tuple[str, ...], timeframe: str | None,
              asof: str | None, horizon: int | None, fmt: str, show_events: bool,
              pattern_params: tuple[str, ...], chart: str | None, **market) -> int:
    """How often did each kind of signal pay on this market's own history?

    Replays the history point in time (each event at the candle whose close made it
    knowable) and scores it by what happened next: targets reached before the invalidation,
    Bulkowski failures (<5% beyond the entry before reversing), worst excursion against the
    signal, candles to target. Several markets: one table each, and pooled.

    \b
    Examples:
      btcscan stats --sample
      btcscan stats --sample -t 1d --events
      btcscan stats --sample BTC/USD ETH/USDT SOL/USDT -t 1d
      btcscan stats --sample -t 1d --format json > stats.json
    """
    from dataclasses import replace

    from btcscan.cli import compile_once

    compile_once()  # the first run on a machine says so on a terminal, as scan does
    from btcscan import api
    from btcscan.settings import ScanSettings
    from btcscan.stats.run import stats_candles

    timeframe = timeframe or ScanSettings().timeframe  # the one default
    file_symbol = market.pop("file_symbol")
    if file_symbol is not None and not files:
        raise click.UsageError("--symbol names the market of a --from-file file: add "
                               "--from-file PATH")
    if chart:
        from btcscan.cli_data import check_chart_path

        check_chart_path(chart)  # before the work: a typo costs nothing
    if files:
        files, symbols = files + symbols, ()
    errors: tuple[dict, ...] = ()
    code = 0
    if symbols and not sample:
        from btcscan.cli_data import exit_code_of, market_kwargs, progress_for

        kwargs = market_kwargs(timeframe=timeframe, **market)
        with progress_for(symbols) as progress:
            loaded = api.load_exchange(symbols, progress=progress, **kwargs)
        series = [r for r in loaded if not isinstance(r, BtcscanError)]
        errors = tuple({"source": f"{kwargs['exchange']}:{sym}", "error": str(r)}
                       for sym, r in zip(symbols, loaded, strict=True)
                       if isinstance(r, BtcscanError))
        for e in errors:
            click.echo(f"btcscan: error: {e['error']}", err=True)
        code = int(exit_code_of(loaded))
        if not series:
            return code
    else:
        from btcscan.cli_context import LIVE_ONLY, report_unused

        report_unused(click.get_current_context(), "--from-file" if files else "--sample",
                      LIVE_ONLY, sentiment=False,
                      say=lambda m: click.echo(f"btcscan: note: {m}", err=True))
        series = api.load_sources(sample=sample, symbols=symbols, files=files,
                                  file_symbol=file_symbol)
    settings = _settings(timeframe, market.get("config_path"), pattern_params)
    result = replace(stats_candles(series, timeframe=timeframe, asof=asof,
                                   params=settings.patterns, horizon=horizon), errors=errors)
    if fmt == "json":
        from btcscan.render.stats import write_stats_json

        write_stats_json(result, sys.stdout)
    else:
        from rich.console import Console

        from btcscan.render.stats import render_stats

        render_stats(result, Console(file=sys.stdout, highlight=False), events=show_events)
    if chart:  # after the table: a chart that cannot be written does not lose it
        _charts(series, result, settings, timeframe, asof, chart)
    return code


def _settings(timeframe: str, config_path, pattern_params: tuple[str, ...]):
    """Pattern parameters as scan sets them (defaults, the config file's [patterns] table,
    then ``--pattern-param``), with hidden divergences on."""
    from dataclasses import replace

    from btcscan.config import load_config
    from btcscan.patterns.params import PatternParams
    from btcscan.settings import ScanSettings

    params = PatternParams.from_mapping(load_config(config_path).get("patterns"))
    try:
        params = params.with_strings(pattern_params).replace(include_hidden=True)
    except ConfigError as exc:  # a flag: a usage error (2), as scan's
        raise UsageError(str(exc)) from None
    return replace(ScanSettings(), timeframe=timeframe, patterns=params)


def _charts(series, result, settings, timeframe, asof, path: str) -> None:
    from btcscan import api
    from btcscan.cli import chart_path, write_chart_file

    scan = api.scan_candles(series, timeframe=timeframe, asof=asof, settings=settings)
    for c, r, s in zip(series, scan.series, result.series, strict=True):
        out = chart_path(path, r.source.symbol, len(series) > 1)
        write_chart_file(c, r, settings, out, past_events=s.events, bars=r.candles)
        click.echo(f"btcscan: chart written to {out}", err=True)


def register(group: click.Group) -> None:
    group.add_command(stats_cmd)
