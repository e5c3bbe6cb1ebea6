"""The blocked, branch-free raw pivot kernel (``_raw_pivot_list``) against two references:
the pure-Python definition (tests/pattern_reference.py) and a numpy shifted-compare twin
(no jitted reference: the suite compiles only kernels a command uses).

Short series cover ties, flat runs, NaN (prefix and middle) and +-inf; long series cover
many blocks, NaN next to block edges and every left/right pair 1..8.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btcscan.kernels import pivots
from btcscan.kernels._jit import f64
from btcscan.kernels.pivots import _raw_pivot_list, pivot_scratch, raw_pivots, side_capacity
from tests import pattern_reference as ref

SENTINEL = -7


def shifted(x: np.ndarray, left: int, right: int, high: bool) -> np.ndarray:
    """Pivot bars by whole-array compares with each neighbour (NaN compares False)."""
    i = np.arange(left, x.size - right)
    v = x[i]
    ok = np.ones(i.size, dtype=bool)
    for d in range(1, right + 1):
        ok &= (x[i + d] <= v) if high else (x[i + d] >= v)
    for d in range(1, left + 1):
        ok &= (x[i - d] < v) if high else (x[i - d] > v)
    return i[ok]


def call(x: np.ndarray, left: int, right: int, high: bool, out: np.ndarray) -> int:
    """The kernel as its wrapper calls it (read-only float64, side +-1: the one signature
    the commands compile, so the tests compile no other)."""
    return _raw_pivot_list(f64(x), left, right, 1 if high else -1, out,
                           *pivot_scratch(left, right))


def kernel(x: np.ndarray, left: int, right: int, high: bool) -> np.ndarray:
    """Run the kernel with the callers' buffer size; check it wrote at most one slot past
    the count."""
    out = np.full(side_capacity(x.size, left, right), SENTINEL, dtype=np.int64)
    k = call(x, left, right, high, out)
    assert 0 <= k < out.size
    assert (out[k + 1:] == SENTINEL).all()
    return out[:k].copy()


@st.composite
def awkward(draw, max_size: int = 300):
    """Runs of small integers (ties, plateaus) with NaN / +-inf dropped in, and optionally
    a NaN prefix."""
    n = draw(st.integers(0, max_size))
    vals: list[float] = []
    while len(vals) < n:
        v = draw(st.one_of(st.integers(0, 6).map(float),
                           st.sampled_from([np.nan, np.inf, -np.inf, -0.0])))
        vals.extend([v] * draw(st.integers(1, 5)))
    x = np.array(vals[:n], dtype=np.float64)
    if n and draw(st.booleans()):
        x[:draw(st.integers(0, min(n, 30)))] = np.nan
    return x


@settings(max_examples=300, deadline=None)
@given(x=awkward(), left=st.integers(1, 8), right=st.integers(1, 8), high=st.booleans())
def test_kernel_matches_pure_python_reference(x, left, right, high):
    want = np.nonzero(ref.raw_pivots(x.tolist(), left, right, high))[0].tolist()
    assert kernel(x, left, right, high).tolist() == want
    assert np.nonzero(raw_pivots(x, left, right, high=high))[0].tolist() == want


@settings(max_examples=60, deadline=None)
@given(x=awkward(max_size=3 * pivots._BLOCK), left=st.integers(1, 8),
       right=st.integers(1, 8), high=st.booleans())
def test_kernel_matches_shifted_compares_across_blocks(x, left, right, high):
    assert kernel(x, left, right, high).tolist() == shifted(x, left, right, high).tolist()


def _walks() -> list[np.ndarray]:
    rng = np.random.default_rng(4)
    n = 50_000
    walk = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    ticks = np.round(np.cumsum(rng.integers(-2, 3, n)).astype(float) / 2)  # many ties
    holes = walk.copy()
    holes[:14] = np.nan  # an indicator's warm-up
    holes[rng.integers(0, n, 60)] = np.nan
    holes[rng.integers(0, n, 20)] = np.inf
    holes[rng.integers(0, n, 20)] = -np.inf
    return [walk, ticks, holes]


@pytest.mark.parametrize("left", range(1, 9))
def test_long_series_equal_shifted_compares(left):
    for x in _walks():
        for right in range(1, 9):
            for high in (True, False):
                got = kernel(x, left, right, high)
                assert got.tolist() == shifted(x, left, right, high).tolist(), (right, high)


@pytest.mark.parametrize("left,right", [(5, 5), (2, 7), (8, 1), (3, 3)])
def test_nan_at_every_offset_around_a_block_edge(left, right):
    """A NaN just inside or outside a block's window must still kill every pivot whose
    window holds it (the NaN check covers the whole window, not only the block)."""
    rng = np.random.default_rng(7)
    base = np.cumsum(rng.normal(size=3 * pivots._BLOCK))
    edge = left + pivots._BLOCK  # first bar of the second block
    for p in range(edge - left - right - 2, edge + left + right + 2):
        x = base.copy()
        x[p] = np.nan
        for high in (True, False):
            assert kernel(x, left, right, high).tolist() == shifted(x, left, right,
                                                                    high).tolist(), (p, high)


def test_short_buffer_is_never_overrun():
    """With a buffer of exactly the pivot count the kernel stores nothing past it."""
    rng = np.random.default_rng(11)
    x = np.cumsum(rng.normal(size=5000))
    for left, right in [(1, 1), (5, 5), (3, 8)]:
        for high in (True, False):
            want = shifted(x, left, right, high)
            out = np.full(want.size + 3, SENTINEL, dtype=np.int64)
            k = call(x, left, right, high, out[:want.size])
            assert k == want.size
            assert out[:k].tolist() == want.tolist()
            assert (out[k:] == SENTINEL).all()


def test_side_capacity_has_room_for_the_extra_store():
    """Densest possible pivots (every min(left, right)+1 bars) plus the one-past store."""
    for left, right in [(1, 1), (1, 5), (5, 1), (5, 5), (8, 8), (3, 7)]:
        m = min(left, right)
        for n in range(0, 60):
            x = np.zeros(n)
            # a pivot high every m+1 bars, as far as the edges allow: the longer side's
            # window reaches the next pivot, which must lose to it on that side
            peaks = np.arange(1.0, 1.0 + x[left::m + 1].size)
            x[left::m + 1] = peaks if left > right else peaks[::-1]
            want = shifted(x, left, right, True)
            assert want.size + 1 <= side_capacity(n, left, right)
            assert kernel(x, left, right, True).tolist() == want.tolist()
            out = np.full(want.size + 2, SENTINEL, dtype=np.int64)  # exactly the count
            assert call(x, left, right, True, out[:want.size]) == want.size
            assert out[:want.size].tolist() == want.tolist()
            assert (out[want.size:] == SENTINEL).all()
