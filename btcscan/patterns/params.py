"""Every pattern-engine default, in one frozen dataclass.

A config file's ``[patterns]`` table (read by :mod:`btcscan.config`) and the CLI's
``--pattern-param`` set these through
:meth:`PatternParams.from_mapping` / :meth:`PatternParams.replace`; unknown keys and bad
values raise :class:`btcscan.errors.ConfigError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from btcscan.errors import ConfigError


@dataclass(frozen=True)
class PatternParams:
    """Parameters of the wedge and divergence detectors. Bars are candles of the scanned
    timeframe; ATR multiples use Wilder's ATR(``atr_period``) at the bar named."""

    # pivots (price swings for wedges)
    pivot_left: int = 5
    """Bars left of a pivot (TradingView default 5)."""
    pivot_right: int = 5
    """Bars right of a pivot; a pivot is known ``pivot_right`` bars after its bar."""
    atr_period: int = 14
    """ATR period for every ATR-scaled tolerance."""
    min_swing_atr: float = 1.0
    """Minimum swing between alternating pivots, in ATR at the newer pivot."""
    # wedges
    touch_tolerance_atr: float = 0.25
    """A pivot touches its line when within this many ATRs (ATR at the bar the wedge is known)."""
    close_tolerance_atr: float = 0.0
    """Closes may sit this many ATRs outside the lines inside the pattern (0 = none)."""
    min_touches_major: int = 3
    """Touches needed on one line."""
    min_touches_minor: int = 2
    """Touches needed on the other line."""
    max_pivots: int = 8
    """Most recent alternating pivots tried as one wedge (largest window first; at most 62)."""
    min_duration_bars: int = 15
    """First to last pivot, in bars (Bulkowski: 3 weeks on daily candles)."""
    max_duration_bars: int = 250
    """Longest wedge, first to last pivot, in bars."""
    convergence_ratio: float = 0.75
    """Width at the last pivot must be at most this fraction of the width at the first."""
    min_height_atr: float = 5.0
    """Height at the first pivot must be at least this many ATRs (a wedge stands out of
    the noise)."""
    min_line_move_atr: float = 1.0
    """The flatter line must move at least this many ATRs over the pattern (both lines
    clearly slope the same way)."""
    # divergences (TradingView's built-in RSI divergence defaults)
    rsi_period: int = 14
    """RSI period (Wilder, on close)."""
    div_pivot_left: int = 5
    """Bars left of an RSI pivot."""
    div_pivot_right: int = 5
    """Bars right of an RSI pivot; a divergence is known this many bars after its 2nd pivot."""
    div_min_bars: int = 5
    """The earlier RSI pivot is at least this many bars back."""
    div_max_bars: int = 60
    """... and at most this many bars back."""
    include_hidden: bool = False
    """Also report hidden (continuation) divergences."""
    # reporting
    recent_bars: int = 10
    """A broken wedge or a divergence stays "active" this many bars after it became known."""

    def __post_init__(self) -> None:
        ints = {f.name for f in fields(self) if f.type in ("int", int)}
        for name in ints:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"patterns.{name} must be an integer, got {v!r}")
        for name in ("pivot_left", "pivot_right", "atr_period", "rsi_period", "div_pivot_left",
                     "div_pivot_right", "min_duration_bars", "max_duration_bars"):
            if getattr(self, name) < 1:
                raise ConfigError(f"patterns.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("min_swing_atr", "touch_tolerance_atr", "close_tolerance_atr",
                     "min_line_move_atr", "min_height_atr"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (
                    v >= 0 and math.isfinite(v)):
                raise ConfigError(f"patterns.{name} must be a finite number >= 0, got {v!r}")
        if not (isinstance(self.convergence_ratio, (int, float))
                and not isinstance(self.convergence_ratio, bool)
                and 0 < self.convergence_ratio < 1):
            raise ConfigError(
                "patterns.convergence_ratio must be between 0 and 1, "
                f"got {self.convergence_ratio!r}")
        if not 2 <= self.min_touches_minor <= self.min_touches_major:
            raise ConfigError("patterns: need 2 <= min_touches_minor <= min_touches_major")
        if self.max_pivots < self.min_touches_major + self.min_touches_minor:
            raise ConfigError(
                "patterns.max_pivots must be >= min_touches_major + min_touches_minor")
        if self.max_pivots > 62:  # the scan keeps its windows as bits of an int64
            raise ConfigError(f"patterns.max_pivots must be <= 62, got {self.max_pivots}")
        if not 1 <= self.div_min_bars <= self.div_max_bars:
            raise ConfigError("patterns: need 1 <= div_min_bars <= div_max_bars")
        if self.min_duration_bars > self.max_duration_bars:
            raise ConfigError("patterns: min_duration_bars is above max_duration_bars")
        if not isinstance(self.include_hidden, bool):
            raise ConfigError(
                f"patterns.include_hidden must be true or false, got {self.include_hidden!r}")
        if self.recent_bars < 0:
            raise ConfigError("patterns.recent_bars must be >= 0")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> PatternParams:
        """Build from a config table (keys as the field names; ``-`` allowed for ``_``)."""
        return cls().replace(**dict(mapping or {}))

    def replace(self, **changes: Any) -> PatternParams:
        """A copy with some fields changed; ``None`` values are ignored (unset CLI options)."""
        known = {f.name for f in fields(self)}
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            name = key.replace("-", "_")
            if name not in known:
                raise ConfigError(
                    f"patterns: unknown setting {key!r}; known: {', '.join(sorted(known))}")
            if value is not None:
                clean[name] = float(value) if (
                    isinstance(value, int) and not isinstance(value, bool)
                    and isinstance(getattr(self, name), float)) else value
        return replace(self, **clean)

    def with_strings(self, items: Iterable[str]) -> PatternParams:
        """Apply ``KEY=VALUE`` texts (the CLI's ``--pattern-param``), converting each value
        to the field's type (``true``/``false`` for flags)."""
        types = {f.name: type(getattr(self, f.name)) for f in fields(self)}
        changes: dict[str, Any] = {}
        for item in items:
            key, sep, text = item.partition("=")
            name = key.strip().replace("-", "_")
            if not sep or name not in types:
                raise ConfigError(
                    f"--pattern-param {item!r}: expected KEY=VALUE with KEY one of "
                    f"{', '.join(sorted(types))}")
            kind = types[name]
            text = text.strip()
            try:
                if kind is bool:
                    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError(text)
                    changes[name] = text.lower() in ("true", "1", "yes")
                else:
                    changes[name] = kind(text)
            except ValueError:
                raise ConfigError(
                    f"--pattern-param {item!r}: {text!r} is not a valid {kind.__name__}"
                ) from None
        return self.replace(**changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
