"""cache.load_many reads many files in one scan and, when every file is canonical, checks
them in one pass (issue #6): each item must still be exactly what cache.load gives for
that file alone, bad files included (same CacheError text)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from btcscan.data import cache
from btcscan.data.schema import SCHEMA
from btcscan.errors import CacheError, UsageError

DAY = 86_400_000


def _frame(n: int, start_ms: int = 1_600_000_000_000, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = np.r_[close[0], close[:-1]]
    return pl.DataFrame({
        "open_time": start_ms + DAY * np.arange(n, dtype=np.int64),
        "open": open_, "high": np.maximum(open_, close) * 1.01,
        "low": np.minimum(open_, close) * 0.99, "close": close, "volume": rng.random(n),
    }).with_columns(pl.from_epoch("open_time", "ms").dt.replace_time_zone("UTC")).cast(SCHEMA)


def _write(root, symbol: str, df: pl.DataFrame) -> None:
    path = cache.cache_path(root, "binance", symbol, "1d")
    path.parent.mkdir(parents=True, exist_ok=True)
    df.write_parquet(path)


def _same(got, symbol, root):
    try:
        want = cache.load(root, "binance", symbol, "1d")
    except CacheError as exc:
        assert isinstance(got, CacheError) and str(got) == str(exc), symbol
        return "error"
    if want is None:
        assert got is None, symbol
        return "missing"
    assert isinstance(got, pl.DataFrame) and got.equals(want) and got.schema == want.schema, symbol
    return "ok"


def test_canonical_files_load_as_load_gives_them(tmp_path):
    symbols = [f"C{i}/USDT" for i in range(12)]
    for i, s in enumerate(symbols):
        _write(tmp_path, s, _frame(50 + 7 * i, seed=i))
    # the same open times in every file: each file rises, the stack does not
    got = cache.load_many(tmp_path, "binance", [*symbols, "NONE/USDT"], "1d")
    assert [_same(g, s, tmp_path) for g, s in zip(got, [*symbols, "NONE/USDT"], strict=True)] \
        == ["ok"] * 12 + ["missing"]
    # ...checked in one pass, not file by file
    paths = [str(cache.cache_path(tmp_path, "binance", s, "1d")) for s in symbols]
    frames, checked = cache._split(pl.scan_parquet(paths, include_file_paths="__path").collect())
    assert checked and list(frames) == paths


def _bad(kind: str, df: pl.DataFrame) -> pl.DataFrame:
    if kind == "unsorted":
        return df.reverse()
    if kind == "duplicate":
        return pl.concat([df, df.tail(1)])
    if kind == "nan":
        return df.with_columns(pl.when(pl.int_range(pl.len()) == 5).then(math.nan)
                               .otherwise(pl.col("close")).alias("close"))
    if kind == "high_below_close":
        return df.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(pl.col("low"))
                               .otherwise(pl.col("high")).alias("high"))
    if kind == "zero_price":
        return df.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(0.0)
                               .otherwise(pl.col("open")).alias("open"))
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["unsorted", "duplicate", "nan", "high_below_close",
                                  "zero_price"])
@pytest.mark.parametrize("where", [0, 3, 5])
def test_a_bad_file_among_good_ones_is_its_own_cache_error(tmp_path, kind, where):
    symbols = [f"G{i}/USDT" for i in range(6)]
    for i, s in enumerate(symbols):
        df = _frame(40, seed=i)
        _write(tmp_path, s, _bad(kind, df) if i == where else df)
    got = cache.load_many(tmp_path, "binance", symbols, "1d")
    states = [_same(g, s, tmp_path) for g, s in zip(got, symbols, strict=True)]
    assert states == ["error" if i == where else "ok" for i in range(6)]


def test_other_dtypes_and_column_order_are_normalised_as_load_does(tmp_path):
    symbols = ["A/USDT", "B/USDT", "C/USDT"]
    _write(tmp_path, "A/USDT", _frame(30))
    _write(tmp_path, "B/USDT", _frame(30, seed=1).with_columns(pl.col("volume")
                                                                .cast(pl.Float32)))
    _write(tmp_path, "C/USDT", _frame(30, seed=2))
    got = cache.load_many(tmp_path, "binance", symbols, "1d")
    assert [_same(g, s, tmp_path) for g, s in zip(got, symbols, strict=True)] == ["ok"] * 3
    _write(tmp_path, "B/USDT", _frame(30, seed=1).select("close", "open_time", "open", "high",
                                                          "low", "volume"))
    got = cache.load_many(tmp_path, "binance", symbols, "1d")
    assert [_same(g, s, tmp_path) for g, s in zip(got, symbols, strict=True)] == ["ok"] * 3


def test_the_same_market_twice(tmp_path):
    for s in ("A/USDT", "B/USDT"):
        _write(tmp_path, s, _frame(20))
    for symbols in (["A/USDT", "A/USDT"], ["A/USDT", "B/USDT", "A/USDT"]):
        got = cache.load_many(tmp_path, "binance", symbols, "1d")
        assert len(got) == len(symbols)
        for g in got:  # each file alone is fine; read twice, each item is still that file
            assert isinstance(g, pl.DataFrame | CacheError)


@pytest.mark.parametrize("symbols", [["BTC/USDT", "ETH-PERP", "A.B/C", "1000SHIB/USDT:USDT",
                                      "ünï/€", "x" * 60]])
def test_paths_are_cache_path(tmp_path, symbols):
    assert cache._paths(tmp_path, "binance", symbols, "1M") == [
        cache.cache_path(tmp_path, "binance", s, "1M") for s in symbols]


@pytest.mark.parametrize("bad", ["", "a\nb", "x" * 101])
def test_a_bad_symbol_is_refused_as_cache_path_refuses_it(tmp_path, bad):
    with pytest.raises(UsageError) as want:
        cache.cache_path(tmp_path, "binance", bad, "1d")
    with pytest.raises(UsageError) as got:
        cache._paths(tmp_path, "binance", ["BTC/USDT", bad], "1d")
    assert str(got.value) == str(want.value)
