"""Kernels vs TA-Lib (parity to 1e-9, bit-exact where TA-Lib's order of operations is
reproduced) and vs the naive references on hypothesis-generated series."""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from btcscan.data.sample import load_sample
from btcscan.kernels.rolling import atr, rsi, sma
from tests.reference import atr_ref, rsi_ref, sma_ref


def assert_same(a, b, tol=1e-9):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b)), "warm-up NaNs differ"
    m = ~np.isnan(a)
    if m.any():
        scale = np.maximum(1.0, np.abs(b[m]))
        assert np.max(np.abs(a[m] - b[m]) / scale) <= tol


@pytest.fixture(scope="module")
def btc():
    return load_sample("BTC/USD").arrays()


@pytest.mark.parametrize("n", [2, 14, 50, 100])
def test_sma_and_rsi_equal_talib_on_btc(btc, n):
    c = btc["close"]
    assert np.array_equal(sma(c, n), talib.SMA(c, n), equal_nan=True)
    assert np.array_equal(rsi(c, n), talib.RSI(c, n), equal_nan=True)


@pytest.mark.parametrize("n", [1, 2, 14, 30])
def test_atr_matches_talib_on_btc(btc, n):
    h, lo, c = btc["high"], btc["low"], btc["close"]
    assert_same(atr(h, lo, c, n), talib.ATR(h, lo, c, n), tol=1e-12)


def test_leading_nans_skipped_like_talib():
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(size=500)) + 100
    x[:17] = np.nan
    assert np.array_equal(rsi(x, 14), talib.RSI(x, 14), equal_nan=True)
    assert np.array_equal(sma(x, 20), talib.SMA(x, 20), equal_nan=True)
    h, lo = x + 1, x - 1
    assert_same(atr(h, lo, x, 14), talib.ATR(h, lo, x, 14))


@pytest.mark.parametrize("size", [0, 1, 13, 14, 15, 100])
def test_edge_lengths_match_talib(size):
    x = np.linspace(10, 20, size) + np.sin(np.arange(size))
    assert (
        np.array_equal(rsi(x, 14), talib.RSI(x, 14), equal_nan=True) if size else rsi(x).size == 0
    )
    assert np.array_equal(sma(x, 14), talib.SMA(x, 14), equal_nan=True) if size else True


def test_flat_series_rsi_is_zero_like_talib():
    x = np.full(60, 42.0)
    assert np.array_equal(rsi(x, 14), talib.RSI(x, 14), equal_nan=True)
    assert rsi(x, 14)[-1] == 0.0


def test_out_buffer_is_reused_and_checked():
    x = np.arange(100, dtype=float)
    buf = np.empty(100)
    assert sma(x, 10, out=buf) is buf
    with pytest.raises(ValueError):
        sma(x, 10, out=np.empty(99))
    with pytest.raises(ValueError):
        rsi(x, 0)
    with pytest.raises(ValueError):
        sma(np.ones((2, 2)), 2)


prices = st.lists(
    st.one_of(st.floats(1.0, 1e6), st.sampled_from([100.0, 100.0, 100.0])),  # flat runs
    min_size=0,
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(prices, st.integers(1, 40), st.integers(0, 20))
def test_kernels_match_naive_reference(xs, n, nan_prefix):
    xs = [math.nan] * nan_prefix + xs
    a = np.array(xs, dtype=float)
    assert_same(sma(a, n), sma_ref(xs, n))
    assert_same(rsi(a, n), rsi_ref(xs, n), tol=1e-7)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(1, 1e5), st.floats(0, 0.2), st.floats(0, 1)), min_size=0, max_size=200
    ),
    st.integers(1, 30),
)
def test_atr_matches_naive_reference(rows, n):
    c = [r[0] for r in rows]
    h = [r[0] * (1 + r[1]) for r in rows]
    lo = [r[0] * (1 - r[1] * r[2]) for r in rows]
    assert_same(atr(np.array(h), np.array(lo), np.array(c), n), atr_ref(h, lo, c, n), tol=1e-9)
