"""The TOML configuration file.

Default location: ``$BTCSCAN_CONFIG`` if set, else ``<user config dir>/btcscan/config.toml``
(platformdirs). A missing default file is an empty configuration; a missing file given
explicitly is an error.

Top-level tables:

``[exchanges.<id>]``
    Passed as is to the ccxt constructor of exchange ``<id>``: ``timeout`` (ms),
    ``rateLimit`` (ms between requests), ``proxies``/``httpsProxy``, ``options``, ``urls``
    (a mirror, gateway or testnet)... API keys never come from this file: they are read from
    the environment (``BTCSCAN_<ID>_API_KEY``, ``BTCSCAN_<ID>_SECRET``, see
    :func:`exchange_credentials`) and never printed.
``[scan]``
    Scan settings (:class:`btcscan.settings.ScanSettings` fields: ``timeframe``,
    ``sma_periods``, ``rsi_period``...; see ``configs/example.toml``); unknown keys and
    values of the wrong type are refused (:mod:`btcscan.effective`).
``[watchlist]``
    Markets scanned when the command line names none: ``markets`` (``[EXCHANGE:]SYMBOL[@TF]``),
    ``exchange``, ``top``, ``quote`` (:mod:`btcscan.watchlist`).
``[patterns]``
    Pattern-engine parameters (:class:`btcscan.patterns.PatternParams`, e.g.
    ``touch_tolerance_atr = 0.25``, ``include_hidden = true``); unknown keys are refused.
``[notify]``
    ``scan --notify`` defaults: ``urls`` (a list of http(s):// webhooks and apprise URLs,
    used when the command line gives no ``--notify``), ``timeout`` (seconds per attempt),
    ``retries``. The URLs themselves are checked when a scan uses them
    (:func:`btcscan.alerts.notify.destinations`); keep this file private when they hold tokens.

To add a section, add its name and a validator to :data:`_SECTIONS`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from btcscan.errors import ConfigError

#: Keys that would put a secret in a file that people paste into bug reports.
SECRET_KEYS = frozenset({"apiKey", "secret", "password", "uid", "privateKey", "walletAddress",
                         "token", "login", "twofa"})


def default_config_path() -> Path:
    """``$BTCSCAN_CONFIG`` if set, else ``platformdirs.user_config_dir("btcscan")/config.toml``."""
    env = os.environ.get("BTCSCAN_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("btcscan")) / "config.toml"


def _check_exchanges(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [exchanges] must be a table of [exchanges.<id>] tables")
    for ex_id, table in value.items():
        if not isinstance(table, dict):
            raise ConfigError(
                f"{where}: exchanges.{ex_id} must be a table of ccxt constructor options, "
                f"e.g. [exchanges.{ex_id}] timeout = 10000"
            )
        for key in table:
            if key in SECRET_KEYS:
                raise ConfigError(
                    f"{where}: exchanges.{ex_id}.{key}: secrets do not belong in the config file; "
                    f"remove it and set "
                    f"BTCSCAN_{env_id(ex_id)}_{_ENV_SUFFIX.get(key, key.upper())} "
                    "in the environment (candles need no API key)"
                )
        for key, kind in (("timeout", (int, float)), ("rateLimit", (int, float)),
                          ("options", dict), ("urls", dict), ("headers", dict)):
            if key in table and (not isinstance(table[key], kind) or isinstance(table[key], bool)):
                raise ConfigError(
                    f"{where}: exchanges.{ex_id}.{key} has type {type(table[key]).__name__}; "
                    f"expected {'a table' if kind is dict else 'a number'}"
                )


def _check_scan(value: Any, where: str) -> None:
    from btcscan.effective import check_scan_table

    check_scan_table(value, where)


def _check_watchlist(value: Any, where: str) -> None:
    from btcscan.watchlist import check_watchlist

    check_watchlist(value, where)


def _check_patterns(value: Any, where: str) -> None:
    from btcscan.patterns.params import PatternParams

    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [patterns] must be a table")
    try:
        PatternParams.from_mapping(value)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _check_notify(value: Any, where: str) -> None:
    from btcscan.alerts.notify import check_notify_table

    check_notify_table(value, where)


#: Allowed top-level keys and their validators.
_SECTIONS: dict[str, Callable[[Any, str], None]] = {
    "notify": _check_notify,
    "exchanges": _check_exchanges,
    "scan": _check_scan,
    "patterns": _check_patterns,
    "watchlist": _check_watchlist,
}

_ENV_SUFFIX = {"apiKey": "API_KEY", "secret": "SECRET", "password": "PASSWORD"}


def load_config(path: Path | None = None) -> dict[str, Any]:
    """Read and validate a config file; ``None`` reads the default location if it exists.

    Raises :class:`ConfigError` naming the file and key for unreadable TOML, unknown
    top-level keys and values of the wrong type.
    """
    explicit = path is not None
    path = Path(path) if explicit else default_config_path()
    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: config file not found; check --config or BTCSCAN_CONFIG")
        return {}
    where = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{where}: not valid TOML ({exc}); fix the file or pass another --config"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the config file ({exc.strerror})") from exc
    for key, value in data.items():
        if key not in _SECTIONS:
            raise ConfigError(
                f"{where}: unknown top-level key {key!r}; allowed: {', '.join(sorted(_SECTIONS))}"
            )
        _SECTIONS[key](value, where)
    return data


def env_id(exchange: str) -> str:
    """The exchange id as used in environment variable names (``gate.io`` -> ``GATE_IO``)."""
    return "".join(ch if ch.isalnum() else "_" for ch in exchange).upper()


def exchange_credentials(exchange: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """API credentials for ``exchange`` from ``BTCSCAN_<ID>_API_KEY/_SECRET/_PASSWORD``.

    Candles never need them; they are passed to ccxt only when present and never printed.
    """
    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for key, suffix in _ENV_SUFFIX.items():
        value = env.get(f"BTCSCAN_{env_id(exchange)}_{suffix}")
        if value:
            out[key] = value
    return out


def exchange_options(config: dict[str, Any], exchange: str) -> dict[str, Any]:
    """The ``[exchanges.<exchange>]`` table of a loaded config (a copy; empty if absent)."""
    import copy

    return copy.deepcopy(config.get("exchanges", {}).get(exchange, {}))
