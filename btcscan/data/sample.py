"""The bundled sample: real daily candles shipped inside the package (see PROVENANCE.md)."""

from __future__ import annotations

from importlib import resources

import polars as pl

from btcscan.data.schema import Candles, Source
from btcscan.errors import UsageError
from btcscan.timeframes import parse_timeframe

#: symbol -> (file, exchange, description)
SAMPLES: dict[str, tuple[str, str, str]] = {
    "BTC/USD": (
        "bitstamp_btc-usd_1d.parquet",
        "bitstamp",
        "Bitstamp BTC/USD daily, 2011-08-18..2026-04-18",
    ),
    "BTC/USDT": (
        "binance_btc-usdt_1d.parquet",
        "binance",
        "Binance BTC/USDT daily, 2017-08-17..2026-03-19",
    ),
    "ETH/USDT": (
        "binance_eth-usdt_1d.parquet",
        "binance",
        "Binance ETH/USDT daily, 2017-08-17..2026-03-03",
    ),
    "BNB/USDT": (
        "binance_bnb-usdt_1d.parquet",
        "binance",
        "Binance BNB/USDT daily, 2017-11-06..2026-03-03",
    ),
    "XRP/USDT": (
        "binance_xrp-usdt_1d.parquet",
        "binance",
        "Binance XRP/USDT daily, 2018-05-04..2026-03-03",
    ),
    "ADA/USDT": (
        "binance_ada-usdt_1d.parquet",
        "binance",
        "Binance ADA/USDT daily, 2018-04-17..2026-03-03",
    ),
    "DOGE/USDT": (
        "binance_doge-usdt_1d.parquet",
        "binance",
        "Binance DOGE/USDT daily, 2019-07-05..2026-03-03",
    ),
    "SOL/USDT": (
        "binance_sol-usdt_1d.parquet",
        "binance",
        "Binance SOL/USDT daily, 2020-08-11..2026-03-03",
    ),
}
DEFAULT_SAMPLE = "BTC/USD"


def load_sample(symbol: str = DEFAULT_SAMPLE) -> Candles:
    """Daily candles of a bundled market (already validated when the sample was built)."""
    key = symbol.upper()
    if key not in SAMPLES:
        raise UsageError(f"no bundled sample for {symbol!r}: choose one of {', '.join(SAMPLES)}")
    name, exchange, detail = SAMPLES[key]
    with resources.files("btcscan.data").joinpath("sample", name).open("rb") as fh:
        frame = pl.read_parquet(fh)
    return Candles(
        frame=frame,
        timeframe=parse_timeframe("1d"),
        source=Source(
            kind="sample", symbol=key, exchange=exchange, detail=f"bundled sample: {detail}"
        ),
    )
