"""``scan`` options for context and for naming what is scanned: ``--sentiment``,
``--context-file NAME=PATH``, ``--symbol NAME``; the preset watchlist read from the bundled
sample (``--config PRESET --sample``); and the stderr notes on options that cannot apply."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

CONTEXT_OPTIONS = (
    click.option("--symbol", "file_symbol", metavar="NAME", default=None,
                 help="The market of the --from-file file, e.g. BTC/USD, so it gets that "
                      "market's context (the power law for BTC) [default: the file's name]."),
    click.option("--sentiment", is_flag=True, default=False,
                 help="Add the Crypto Fear & Greed Index (alternative.me, daily since "
                      "2018-02) on the scan day with its 30-day change; cached beside the "
                      "candles, --offline reads the cache only. Never fetched unless given."),
    click.option("--context-file", "context_files", multiple=True, metavar="NAME=PATH",
                 help="Add a daily metric of your own (a dated CSV or parquet, e.g. an "
                      "LTH-supply export) on the scan day with its 30-day change; "
                      "repeatable. Columns: a date and 'value', NAME, or one other column."),
)


def symbol_option(fn: Callable) -> Callable:
    """``--symbol NAME`` alone (``stats``)."""
    return CONTEXT_OPTIONS[0](fn)


def context_options(fn: Callable) -> Callable:
    for opt in reversed(CONTEXT_OPTIONS):
        fn = opt(fn)
    return fn


def load_metrics(sentiment: bool, context_files: tuple[str, ...], cache_dir: Path | None,
                 offline: bool) -> list:
    """The outside series asked for, loaded before the scan (a bad file fails fast)."""
    from btcscan.data.metrics import parse_context_file, read_metric_file

    out = []
    names: set[str] = set()
    for text in context_files:
        name, path = parse_context_file(text)
        if name in names:
            raise click.UsageError(f"--context-file {name}=...: the name is given twice")
        names.add(name)
        out.append(read_metric_file(name, path))
    if sentiment:
        from btcscan.data.cache import default_cache_dir
        from btcscan.data.sentiment import load_fear_greed

        out.append(load_fear_greed(cache_dir or default_cache_dir(), offline=offline))
    return out


def sample_specs(specs: list, say: Callable[[str], None]) -> list:
    """A preset's watchlist markets read from the bundled sample: each market that is
    bundled (by symbol), the others reported through ``say`` and left out."""
    from dataclasses import replace

    from btcscan.data.sample import SAMPLES

    out = []
    for s in specs:
        bundled = SAMPLES.get(s.symbol)
        if bundled is None:
            say(f"--sample: {s.text()} is not in the bundled sample; left out")
            continue
        if s.exchange and s.exchange not in ("sample", bundled[1]):
            say(f"--sample: {s.text()} is read from the bundled {bundled[2]}")
        out.append(replace(s, exchange="sample"))
    return out


#: Options of live markets: they do nothing when only files or the bundled sample are read.
LIVE_ONLY = ("since", "exchange", "cache_dir", "offline")


def report_unused(ctx: click.Context, what: str, names: tuple[str, ...], *, sentiment: bool,
                  say: Callable[[str], None]) -> None:
    """Say through ``say`` which of the options ``names`` the user gave (on the command line
    or in the environment): they cannot apply to this run."""
    from click.core import ParameterSource

    for name in names:
        if name in ("cache_dir", "offline") and sentiment:
            continue  # the Fear & Greed cache lives there
        if ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE,
                                               ParameterSource.ENVIRONMENT):
            opt = next(p for p in ctx.command.params if p.name == name).opts[-1]
            say(f"{opt} does not apply to {what} (no candles are fetched); ignored")
