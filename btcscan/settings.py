"""Scan settings: every default of the core scan lives here, once."""

from __future__ import annotations

from dataclasses import dataclass, field

from btcscan.patterns.params import PatternParams


@dataclass(frozen=True)
class ScanSettings:
    """What the core scan computes. Periods count candles of the scanned timeframe."""

    timeframe: str = "1w"
    sma_periods: tuple[int, ...] = (50, 100)
    rsi_period: int = 14
    atr_period: int = 14
    #: levels shown on each side of the latest price in the ladder
    ladder_size: int = 5
    #: flag the price when it is within this percent of a round number
    round_proximity_pct: float = 2.0
    #: RSI warns when fewer than this many periods of history precede the value used
    rsi_warmup_periods: int = 10
    #: wedge and divergence detectors (None = do not run them); defaults in PatternParams
    patterns: PatternParams | None = field(default_factory=PatternParams)
