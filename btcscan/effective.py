"""Effective scan settings and where each came from: flag > environment > config file > default.

Defaults live once, in :class:`btcscan.settings.ScanSettings` and
:class:`btcscan.patterns.PatternParams`; this module only layers values over them and
remembers the layer that set each key (``btcscan config show`` prints it).

* config file: the ``[scan]`` table (ScanSettings fields) and ``[patterns]`` table;
* environment: ``BTCSCAN_SCAN_<KEY>`` and ``BTCSCAN_PATTERNS_<KEY>`` (e.g.
  ``BTCSCAN_SCAN_SMA_PERIODS=50,200``, ``BTCSCAN_PATTERNS_PIVOT_LEFT=3``);
* flags: ``--timeframe``, ``--power-law``, ``--hidden-divergences``, ``--set KEY=VALUE``
  (scan keys) and ``--pattern-param KEY=VALUE``.
"""

from __future__ import annotations

import math
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from btcscan.errors import ConfigError, UsageError
from btcscan.patterns.params import PatternParams
from btcscan.settings import ScanSettings

#: ScanSettings fields a config file, the environment or ``--set`` may set
SCAN_KEYS: tuple[str, ...] = tuple(f.name for f in fields(ScanSettings) if f.name != "patterns")
PATTERN_KEYS: tuple[str, ...] = tuple(f.name for f in fields(PatternParams))
_HINTS = typing.get_type_hints(ScanSettings)


@dataclass(frozen=True)
class Effective:
    """Settings of a run and the source of every key (``"default"``, ``"file <path>"``,
    ``"environment <VAR>"``, ``"flag <--option>"``), keyed ``scan.<key>`` / ``patterns.<key>``."""

    settings: ScanSettings
    sources: Mapping[str, str]

    def rows(self) -> list[tuple[str, Any, str]]:
        """(key, value, source) for every setting, scan keys first."""
        out: list[tuple[str, Any, str]] = []
        for k in SCAN_KEYS:
            out.append((f"scan.{k}", getattr(self.settings, k), self.sources[f"scan.{k}"]))
        p = self.settings.patterns or PatternParams()
        for k in PATTERN_KEYS:
            out.append((f"patterns.{k}", getattr(p, k), self.sources[f"patterns.{k}"]))
        return out


def _kind(key: str) -> str:
    hint = _HINTS[key]
    if hint is str:
        return "str"
    if hint is int or hint == int | None:  # None = unset (e.g. stats_horizon: per timeframe)
        return "int"
    if hint is float:
        return "float"
    if hint == bool | None or hint is bool:
        return "bool"
    args = typing.get_args(hint)
    if args and args[0] is int:
        return "ints"
    return "floats"


#: ranges of numeric scan settings beyond their type: key -> (low, high), low < value <= high
_RANGES: dict[str, tuple[float, float]] = {
    "round_proximity_pct": (0.0, 100.0),
    "decline_min_pct": (0.0, 100.0),
}

_ALLOWED = {"str": "a string", "int": "an integer", "float": "a number",
            "bool": "true or false", "ints": "a list of integers, e.g. [50, 100]",
            "floats": "a list of numbers, e.g. [-1.0, 1.0]"}


def check_scan_value(key: str, value: Any, where: str) -> Any:
    """A TOML value for ``scan.<key>`` -> the ScanSettings value, or ConfigError naming
    ``where``, the key and what is allowed."""
    if key not in _HINTS or key == "patterns":
        raise ConfigError(f"{where}: unknown key scan.{key}; allowed: {', '.join(SCAN_KEYS)}")
    kind = _kind(key)
    ok = {
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "ints": isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool)
                                                for v in value),
        "floats": isinstance(value, list) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value),
    }[kind]
    if not ok:
        raise ConfigError(f"{where}: scan.{key} = {value!r} is not {_ALLOWED[kind]}")
    if kind == "float":
        value = float(value)
    if kind in ("ints", "floats"):
        value = tuple(float(v) if kind == "floats" else v for v in value)
    if kind in ("float", "floats") and not all(
            math.isfinite(v) for v in (value if kind == "floats" else (value,))):
        raise ConfigError(f"{where}: scan.{key} = {value!r} must be a finite number "
                          "(not nan or inf)")
    if key in _RANGES:
        low, high = _RANGES[key]
        if not low < value <= high:
            raise ConfigError(f"{where}: scan.{key} = {value!r} must be above {low:g} and at "
                              f"most {high:g}")
    if kind == "int" and value < 1:
        raise ConfigError(f"{where}: scan.{key} = {value} must be at least 1")
    if kind == "ints" and (not value or any(v < 2 for v in value)):
        raise ConfigError(f"{where}: scan.{key} must list periods of at least 2 candles")
    if key == "timeframe":
        from btcscan.timeframes import parse_timeframe

        try:
            parse_timeframe(value)
        except UsageError as exc:
            raise ConfigError(f"{where}: scan.timeframe: {exc}") from None
    if key == "power_law_published":
        from btcscan.analysis.powerlaw import PUBLISHED

        if value not in PUBLISHED:
            raise ConfigError(f"{where}: scan.power_law_published = {value!r}; allowed: "
                              f"{', '.join(PUBLISHED)}")
    return value


def parse_scan_text(key: str, text: str, where: str) -> Any:
    """An environment or ``--set`` string for ``scan.<key>`` -> its value."""
    if key not in SCAN_KEYS:
        raise ConfigError(f"{where}: unknown key scan.{key}; allowed: {', '.join(SCAN_KEYS)}")
    kind = _kind(key)
    t = text.strip()
    try:
        if kind == "str":
            v: Any = t
        elif kind == "int":
            v = int(t)
        elif kind == "float":
            v = float(t)
        elif kind == "bool":
            if t.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            v = t.lower() in ("true", "1", "yes")
        elif kind == "ints":
            v = [int(x) for x in t.strip("[]").split(",") if x.strip()]
        else:
            v = [float(x) for x in t.strip("[]").split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"{where}: scan.{key} = {text!r} is not {_ALLOWED[kind]}") from None
    return check_scan_value(key, v, where)


def check_scan_table(table: Any, where: str) -> dict[str, Any]:
    """Validate a ``[scan]`` table; returns it converted to ScanSettings values."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [scan] must be a table of scan settings")
    return {k: check_scan_value(k, v, where) for k, v in table.items()}


def resolve(config: Mapping[str, Any] | None = None, config_where: str = "",
            environ: Mapping[str, str] | None = None, *, timeframe: str | None = None,
            power_law: bool | None = None, hidden_divergences: bool = False,
            sets: tuple[str, ...] = (), pattern_params: tuple[str, ...] = ()) -> Effective:
    """Layer default < config file < environment < flags; remember each key's source."""
    env = os.environ if environ is None else environ
    config = config or {}
    scan_vals: dict[str, Any] = {}
    sources = {f"scan.{k}": "default" for k in SCAN_KEYS}
    sources.update({f"patterns.{k}": "default" for k in PATTERN_KEYS})
    file_src = f"file {config_where}"
    for k, v in check_scan_table(config.get("scan", {}), config_where).items():
        scan_vals[k], sources[f"scan.{k}"] = v, file_src
    pat_vals: dict[str, Any] = dict(config.get("patterns", {}) or {})
    for k in pat_vals:
        sources[f"patterns.{k}"] = file_src
    for var in env:
        for prefix, keys in (("BTCSCAN_SCAN_", SCAN_KEYS), ("BTCSCAN_PATTERNS_", PATTERN_KEYS)):
            if var.startswith(prefix) and var[len(prefix):].lower() not in keys:
                raise ConfigError(
                    f"environment {var}: no such setting; known: "
                    + ", ".join(prefix + k.upper() for k in keys))
    for k in SCAN_KEYS:
        var = f"BTCSCAN_SCAN_{k.upper()}"
        if env.get(var, "") != "":
            scan_vals[k] = parse_scan_text(k, env[var], f"environment {var}")
            sources[f"scan.{k}"] = f"environment {var}"
    for k in PATTERN_KEYS:
        var = f"BTCSCAN_PATTERNS_{k.upper()}"
        if env.get(var, "") != "":
            try:
                pat_vals[k] = getattr(PatternParams().with_strings([f"{k}={env[var]}"]), k)
            except ConfigError as exc:
                raise ConfigError(f"environment {var}: {exc}") from None
            sources[f"patterns.{k}"] = f"environment {var}"
    for item in sets:
        if "=" not in item:
            raise UsageError(f"--set {item!r}: use KEY=VALUE, e.g. --set sma_periods=50,200")
        k, _, text = item.partition("=")
        k = k.strip().removeprefix("scan.")
        try:
            scan_vals[k] = parse_scan_text(k, text, f"--set {item}")
        except ConfigError as exc:  # a flag: a usage error (2), not a config file's (8)
            raise UsageError(str(exc)) from None
        sources[f"scan.{k}"] = "flag --set"
    if timeframe is not None:
        from btcscan.timeframes import parse_timeframe

        parse_timeframe(timeframe)  # UsageError (2) naming the value
        scan_vals["timeframe"] = timeframe
        sources["scan.timeframe"] = "flag --timeframe"
    if power_law is not None:
        scan_vals["power_law"], sources["scan.power_law"] = power_law, "flag --power-law"
    try:
        params = PatternParams.from_mapping(pat_vals)
    except ConfigError as exc:  # the file's or the environment's value
        raise ConfigError(f"{config_where or 'environment'}: {exc}") from None
    try:
        params = params.with_strings(pattern_params)
    except ConfigError as exc:  # a flag: a usage error (2), as --set
        msg = str(exc)
        raise UsageError(msg if msg.startswith("--pattern-param") else
                         f"--pattern-param {' '.join(pattern_params)}: {msg}") from None
    for item in pattern_params:
        sources[f"patterns.{item.partition('=')[0].strip()}"] = "flag --pattern-param"
    if hidden_divergences:
        params = params.replace(include_hidden=True)
        sources["patterns.include_hidden"] = "flag --hidden-divergences"
    settings = replace(ScanSettings(), **scan_vals, patterns=params)
    return Effective(settings=settings, sources=sources)
