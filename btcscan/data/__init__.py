"""Candle sources -> one canonical polars frame (see :mod:`btcscan.data.schema`)."""
