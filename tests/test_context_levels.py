"""with_context keeps the scan's level ladder as it is when there is no power law to add
(issue #6: the ladder was rebuilt from its own levels); it must equal the rebuilt one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from btcscan import api
from btcscan.analysis.context import long_run_context, with_context
from btcscan.analysis.levels import LevelCandidate as C
from btcscan.analysis.levels import flatten, ladder
from btcscan.analysis.series import analyse
from btcscan.data.sample import load_sample
from btcscan.settings import ScanSettings
from btcscan.timeframes import parse_timeframe


def _rebuilt(report, ctx, size, settings):
    cands = flatten(report.levels)
    for law in ctx.power_law:  # as with_context words them
        how = (f"log10 A={law.log10_a:.3f}, n={law.exponent:.3f}, "
               + ("fitted on closes up to the scan time" if law.sigma else "published"))
        cands.append(C(law.fair_value, "power_law", f"power-law fair value ({law.label})", how))
        cands += [C(b.price, "power_law", f"power-law {b.label} ({law.label})", how)
                  for b in law.bands]
    # the stated grouping distance: 0.25 ATR, at most 1% of the price
    tol = min(0.25 * report.atr.value, 0.01 * report.latest.price)
    return ladder(report.latest.price, cands, size, tol)


@pytest.mark.parametrize("symbol", ["ETH/USDT", "DOGE/USDT", "BTC/USD"])
@pytest.mark.parametrize("tf,asof", [("1d", None), ("1w", "2022-06-30"), ("1d", "2021-01-05")])
@pytest.mark.parametrize("size", [1, 2, 5])
def test_context_ladder_equals_the_rebuilt_one(symbol, tf, asof, size):
    c = load_sample(symbol)
    settings = ScanSettings(timeframe=tf)
    at = api.parse_asof(asof)
    report = analyse(c, parse_timeframe(tf), at, settings)
    ctx = long_run_context(c, int(report.asof.timestamp() * 1000), settings)
    # the scan's own ladder size, and a smaller one than the report was built with
    got = with_context(report, ctx, replace(settings, ladder_size=size))
    assert got.levels == _rebuilt(report, ctx, size, settings)
    assert got.context == ctx
    assert replace(got, levels=report.levels, context=None) == report
