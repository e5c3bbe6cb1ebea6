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
    ladder_size: int = 8
    #: ladder rows group levels within this many ATRs (of the scanned timeframe) of the
    #: lowest level of the row, and never more than level_group_max_pct of the price apart
    #: (btcscan.analysis.levels.ladder)
    level_group_atr: float = 0.25
    level_group_max_pct: float = 1.0
    #: swing highs and lows on the ladder: confirmed pivots with their bar within this many
    #: candles of the last closed one
    swing_lookback_bars: int = 100
    #: flag the price when it is within this percent of a round number
    round_proximity_pct: float = 2.0
    #: RSI warns when fewer than this many periods of history precede the value used
    rsi_warmup_periods: int = 10
    #: long-run context: power law for BTC markets (None = when the symbol's base is BTC/XBT)
    power_law: bool | None = None
    #: the published coefficient set printed beside the fit (see btcscan.analysis.powerlaw)
    power_law_published: str = "santostasi"
    #: residual bands of the fit, in standard deviations of log10(price)
    power_law_sigmas: tuple[float, ...] = (-2.0, -1.0, 1.0, 2.0)
    #: a decline is a fall of at least this percent from an all-time closing high
    decline_min_pct: float = 50.0
    #: wedge and divergence detectors (None = do not run them); defaults in PatternParams
    patterns: PatternParams | None = field(default_factory=PatternParams)
    #: walk-forward stats line beside each active signal (issue #7; needs patterns)
    signal_stats: bool = True
    #: candles after an event before it counts as expired (None = per timeframe, see
    #: btcscan.stats.rules.DEFAULT_HORIZON_BARS)
    stats_horizon: int | None = None
