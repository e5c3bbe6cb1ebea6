"""Hypothesis strategies for candle-like series: flat runs, ties, gaps, NaN warm-ups."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


@st.composite
def levels(draw, min_size: int = 0, max_size: int = 120, nan_prefix: bool = False):
    """A float series built from runs of small integers (ties and flat runs are common),
    with occasional jumps (gaps) and optionally a NaN warm-up."""
    n = draw(st.integers(min_size, max_size))
    vals: list[float] = []
    while len(vals) < n:
        v = draw(st.integers(0, 12))
        run = draw(st.integers(1, 4))
        if draw(st.booleans()) and draw(st.booleans()):
            v += draw(st.sampled_from([-40, 40]))  # gap
        vals.extend([float(v)] * run)
    x = np.array(vals[:n], dtype=np.float64)
    if nan_prefix and n:
        k = draw(st.integers(0, min(n, 20)))
        x[:k] = np.nan
    return x


@st.composite
def candles(draw, min_size: int = 0, max_size: int = 150):
    """(high, low, close) with high >= close >= low, from a random integer walk."""
    n = draw(st.integers(min_size, max_size))
    steps = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    mid = 100.0 + np.cumsum(np.array(steps, dtype=np.float64))
    up = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.float64)
    dn = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.float64)
    return mid + up, mid - dn, mid
