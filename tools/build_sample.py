"""Rebuild the bundled sample parquet files from ../shared/data (run by hand).

    python tools/build_sample.py ../shared/data

Only exchange price records are bundled; the Coin Metrics file (CC BY-NC 4.0) is not.
"""

from __future__ import annotations

import sys
from pathlib import Path

from btcscan.data.files import read_ohlcv_file
from btcscan.data.schema import normalise

FILES = {
    "btcusd_1d.csv": "bitstamp_btc-usd_1d.parquet",
    "btcusdt_1d.csv": "binance_btc-usdt_1d.parquet",
    "ethusdt_1d.csv": "binance_eth-usdt_1d.parquet",
    "solusdt_1d.csv": "binance_sol-usdt_1d.parquet",
    "xrpusdt_1d.csv": "binance_xrp-usdt_1d.parquet",
    "bnbusdt_1d.csv": "binance_bnb-usdt_1d.parquet",
    "dogeusdt_1d.csv": "binance_doge-usdt_1d.parquet",
    "adausdt_1d.csv": "binance_ada-usdt_1d.parquet",
}


def main(src: str) -> None:
    dest = Path(__file__).resolve().parents[1] / "btcscan" / "data" / "sample"
    for name, out in FILES.items():
        df, notes = normalise(read_ohlcv_file(Path(src) / name), name, repair=False)
        assert not notes, notes
        df.write_parquet(dest / out, compression="zstd", compression_level=19, statistics=False)
        print(f"{out}: {df.height} rows, {(dest / out).stat().st_size:,} bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
