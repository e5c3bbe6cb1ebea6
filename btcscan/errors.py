"""Exceptions raised by the library and the exit codes the CLI maps them to.

The library raises; only :mod:`btcscan.cli` turns an exception into an exit code
(see :func:`exit_code_for`). Every message is one line that says what is wrong
and what to do about it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes. The README lists them; tests assert them."""

    OK = 0
    INTERNAL = 1  # a bug: please report it (rerun with --debug for the traceback)
    USAGE = 2  # bad option or argument (click's own code)
    CONDITION_MET = 3  # a --fail-on condition holds
    DATA = 4  # input data unreadable, malformed, too short, or the date is outside it
    NETWORK = 5  # exchange unreachable, timed out, rate-limited past the retry budget
    EXCHANGE = 6  # the exchange refused: unknown symbol or timeframe, bad request
    CACHE = 7  # the cache cannot be read, written or locked
    CONFIG = 8  # a config file is unreadable or has unknown/invalid keys
    PARTIAL = 9  # a multi-market run completed, but some markets failed
    NOTIFY = 10  # a --notify webhook could not be delivered (state kept for a retry)


class BtcscanError(Exception):
    """Base class: ``str(exc)`` is a one-line message for the user."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(BtcscanError):
    """An option value is invalid (unknown timeframe, bad date, bad condition)."""

    exit_code = ExitCode.USAGE


class DataError(BtcscanError):
    """Input candles are unreadable, malformed, too short, or do not cover the date asked."""

    exit_code = ExitCode.DATA


class NetworkError(BtcscanError):
    """The exchange could not be reached within the retry budget."""

    exit_code = ExitCode.NETWORK


class ExchangeError(BtcscanError):
    """The exchange refused the request (bad symbol, unsupported timeframe, ...)."""

    exit_code = ExitCode.EXCHANGE


class CacheError(BtcscanError):
    """The on-disk cache could not be read, written or locked."""

    exit_code = ExitCode.CACHE


class ConfigError(BtcscanError):
    """A configuration file or value is invalid."""

    exit_code = ExitCode.CONFIG


class NotifyError(BtcscanError):
    """A webhook notification failed after its retries."""

    exit_code = ExitCode.NOTIFY


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code for an exception; anything that is not ours is a bug (1)."""
    if isinstance(exc, BtcscanError):
        return exc.exit_code
    return ExitCode.INTERNAL
