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


def _keys(table: dict, prefix: str):
    """(dotted name, key) of every key in a nested table (values are never looked at)."""
    for key, value in table.items():
        yield f"{prefix}.{key}", key
        if isinstance(value, dict):
            yield from _keys(value, f"{prefix}.{key}")


def _check_exchanges(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [exchanges] must be a table of [exchanges.<id>] tables")
    for ex_id, table in value.items():
        if not isinstance(table, dict):
            raise ConfigError(
                f"{where}: exchanges.{ex_id} must be a table of ccxt constructor options, "
                f"e.g. [exchanges.{ex_id}] timeout = 10000"
            )
        for dotted, key in _keys(table, f"exchanges.{ex_id}"):
            if key in SECRET_KEYS:  # at any depth: options = { apiKey = ... } too
                raise ConfigError(
                    f"{where}: {dotted}: secrets do not belong in the config file; "
                    f"remove it and set "
                    f"BTCSCAN_{env_id(ex_id)}_{_ENV_SUFFIX.get(key, key.upper())} "
                    "in the environment (candles need no API key)"
                )
        if table.get("verbose", False) is not False:
            raise ConfigError(
                f"{where}: exchanges.{ex_id}.verbose: ccxt's verbose mode prints every request "
                "and its headers (API keys included) to stdout, which breaks machine output; "
                "remove it (--debug shows tracebacks)"
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
    explicit = path is not None or bool(os.environ.get("BTCSCAN_CONFIG"))
    path = Path(path) if path is not None else default_config_path()
    if not path.exists():
        if explicit:  # --config or $BTCSCAN_CONFIG: a typo must not drop the settings
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
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{where}: not UTF-8 text (byte {exc.start}); TOML files are UTF-8: re-save it so"
        ) from None
    except RecursionError:
        raise ConfigError(
            f"{where}: tables or arrays nested too deeply to read; flatten the file"
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


#: ``BTCSCAN_*`` variables besides ``BTCSCAN_SCAN_<KEY>``, ``BTCSCAN_PATTERNS_<KEY>`` and
#: credentials (``BTCSCAN_<ID>_API_KEY`` ...): name -> what a value must be
ENV_VARIABLES: dict[str, str] = {
    "BTCSCAN_CONFIG": "path", "BTCSCAN_CACHE_DIR": "path",
    "BTCSCAN_DEBUG": "switch", "BTCSCAN_NORMAL_EXIT": "switch",
    "BTCSCAN_NUMBA_EAGER_INIT": "switch",
    "BTCSCAN_FNG_URL": "url",  # the Fear & Greed Index API (tests point it at loopback)
}


def check_environment(environ: dict[str, str] | None = None) -> None:
    """Refuse a ``BTCSCAN_*`` variable btcscan does not read, or one with a bad value
    (:class:`ConfigError`, exit 8): a typo would otherwise be silence. Values of secret
    variables are never shown."""
    env = os.environ if environ is None else environ
    from btcscan.effective import resolve

    for name in sorted(k for k in env if k.startswith("BTCSCAN_")):
        value = env[name]
        kind = ENV_VARIABLES.get(name)
        if kind == "switch" and value.strip() not in ("", "0", "1"):
            raise ConfigError(f"environment {name}={value!r}: use 1 (on) or 0 (off)")
        if kind is None and not name.startswith(("BTCSCAN_SCAN_", "BTCSCAN_PATTERNS_")) \
                and not name.endswith(tuple(f"_{v}" for v in _ENV_SUFFIX.values())):
            known = ", ".join([*ENV_VARIABLES, "BTCSCAN_SCAN_<KEY>", "BTCSCAN_PATTERNS_<KEY>",
                               "BTCSCAN_<EXCHANGE>_API_KEY/_SECRET/_PASSWORD"])
            raise ConfigError(f"environment {name}: btcscan reads no such variable; "
                              f"known: {known}")
    resolve({}, "", env)  # BTCSCAN_SCAN_* and BTCSCAN_PATTERNS_*: names and values


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
