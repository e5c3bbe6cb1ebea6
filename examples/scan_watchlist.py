"""Scan a watchlist from Python and act on the result (the tests run this file).

    python examples/scan_watchlist.py [CONFIG]      default: examples/watchlist.toml

Prints one line per market with a signal on its last closed candles, then the markets whose
last close sits within 3 % of a level, and exits 1 when any market failed. The same calls
work on live markets: give ``"binance:ETH/USDT@1d"`` instead of ``"sample:..."``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from btcscan import api
from btcscan.alerts.signals import signals_of
from btcscan.config import load_config
from btcscan.effective import resolve


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else Path(__file__).with_name("watchlist.toml")
    config = load_config(path)  # ConfigError names the file and key
    settings = resolve(config, str(path)).settings  # default < file < environment
    result = api.scan_markets(config["watchlist"]["markets"], settings=settings)
    for report in result.series:
        for s in signals_of(report):
            print(f"signal  {s.symbol:<10} {s.timeframe:<3} {s.time:%Y-%m-%d}  {s.kind}")
    for report in result.series:
        near = report.levels[0] if report.levels else None
        if near is not None and abs(near.distance_pct) <= 3.0:
            print(f"near    {report.source.symbol:<10} {report.timeframe:<3} "
                  f"{near.distance_pct:+.1f}% to {near.label}")
    for e in result.errors:
        print(f"failed  {e['source']}: {e['error']}", file=sys.stderr)
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
