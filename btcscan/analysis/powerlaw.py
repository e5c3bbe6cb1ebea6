"""Bitcoin power law: log10(price) = log10(A) + n * log10(days since 2009-01-03).

Point in time: :func:`fit_power_law` uses only the closes it is given (the caller passes
closes up to the scan time), so a fit "as of 2022" knows nothing of 2023. Days count
from the genesis block date, 2009-01-03 00:00 UTC, to each candle's open time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np

from btcscan.models import PowerLaw, PowerLawBand

GENESIS = datetime(2009, 1, 3, tzinfo=UTC)
GENESIS_MS = int(GENESIS.timestamp() * 1000)
DAY_MS = 86_400_000


@dataclass(frozen=True)
class PublishedSet:
    """A named, published coefficient set (see DOMAIN.md)."""

    name: str
    source: str
    log10_a: float
    exponent: float
    bands: tuple[tuple[str, float], ...] = ()  # (label, multiple of fair value)


#: Published sets; ``ScanSettings.power_law_published`` picks the one printed.
PUBLISHED: dict[str, PublishedSet] = {
    "santostasi": PublishedSet(
        name="Santostasi (bitcoinfairprice.com)",
        source="published A=1.0117e-17, n=5.82, floor at 0.42x fair",
        log10_a=math.log10(1.0117e-17), exponent=5.82,
        bands=(("floor (0.42x fair)", 0.42),),
    ),
    "bitcoinpowerlaw.com": PublishedSet(
        name="bitcoinpowerlaw.com", source="published log10 A=-17.0161, n=5.8452",
        log10_a=-17.0161, exponent=5.8452,
    ),
    "btcpowerlaw.nl": PublishedSet(
        name="btcpowerlaw.nl", source="published log10 A=-16.493, n=5.688",
        log10_a=-16.493, exponent=5.688,
    ),
}


def days_since_genesis(times_ms: np.ndarray | int) -> np.ndarray | float:
    """Days (fractional) from 2009-01-03 00:00 UTC to the given UTC millisecond times."""
    return (np.asarray(times_ms, dtype=np.float64) - GENESIS_MS) / DAY_MS


_FUSED = re.compile(r"^(BTC|XBT)(USD|USDT|USDC|EUR|GBP|JPY|CHF|AUD|CAD)?$")


@lru_cache(maxsize=1 << 12)  # asked once per market per scan
def is_btc(symbol: str) -> bool:
    """True when the market's base currency is BTC (or XBT): ``BTC/USD``, ``XBT-EUR``, and
    file names such as ``btcusd_1d`` or ``BTCUSDT``."""
    base = re.split(r"[/\-_: .]", symbol.strip(), maxsplit=1)[0].upper()
    return bool(_FUSED.match(base))


def _fmt_day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def fit_power_law(open_ms: np.ndarray, close: np.ndarray, at_ms: int, latest: float,
                  sigmas: tuple[float, ...] = (-2.0, -1.0, 1.0, 2.0)) -> PowerLaw:
    """Ordinary least squares of log10(close) on log10(days since genesis), evaluated at
    ``at_ms`` (the scan time). Bands are ``fair * 10**(k * sigma)`` with ``sigma`` the
    standard deviation of the log10 residuals (ddof 2: two fitted coefficients)."""
    t = np.asarray(open_ms, dtype=np.int64)
    y = np.asarray(close, dtype=np.float64)
    keep = (y > 0) & np.isfinite(y) & (t > GENESIS_MS)
    t, y = t[keep], y[keep]
    if t.size < 3:
        raise ValueError("a power-law fit needs at least 3 positive closes after 2009-01-03")
    x = np.log10(days_since_genesis(t))
    ly = np.log10(y)
    xm, ym = x.mean(), ly.mean()
    n = float(((x - xm) * (ly - ym)).sum() / ((x - xm) ** 2).sum())
    log10_a = float(ym - n * xm)
    resid = ly - (log10_a + n * x)
    sigma = float(np.sqrt((resid ** 2).sum() / (t.size - 2)))
    r2 = float(1.0 - (resid ** 2).sum() / ((ly - ym) ** 2).sum())
    days = float(days_since_genesis(at_ms))
    fair = 10.0 ** (log10_a + n * math.log10(days))
    bands = tuple(
        PowerLawBand(label=f"{k:+g} sigma", multiple=10.0 ** (k * sigma),
                     price=fair * 10.0 ** (k * sigma))
        for k in sigmas
    )
    return PowerLaw(
        label="fit on this series",
        source=(f"OLS of log10(close) on log10(days since 2009-01-03) over {t.size} closes "
                f"{_fmt_day(int(t[0]))}..{_fmt_day(int(t[-1]))} (closes up to the scan time only)"),
        log10_a=log10_a, exponent=n, days=days, fair_value=fair, price_to_fair=latest / fair,
        bands=bands, sigma=sigma, residual_sigmas=(math.log10(latest) - math.log10(fair)) / sigma,
        r2=r2, points=int(t.size),
        first=datetime.fromtimestamp(int(t[0]) / 1000, tz=UTC),
        last=datetime.fromtimestamp(int(t[-1]) / 1000, tz=UTC),
    )


def published_power_law(name: str, at_ms: int, latest: float) -> PowerLaw:
    """A published coefficient set evaluated at ``at_ms``; raises KeyError for unknown names."""
    p = PUBLISHED[name]
    days = float(days_since_genesis(at_ms))
    fair = 10.0 ** (p.log10_a + p.exponent * math.log10(days))
    return PowerLaw(
        label=p.name, source=p.source, log10_a=p.log10_a, exponent=p.exponent, days=days,
        fair_value=fair, price_to_fair=latest / fair,
        bands=tuple(PowerLawBand(label=lab, multiple=m, price=fair * m) for lab, m in p.bands),
    )
