"""The Crypto Fear & Greed Index (alternative.me), daily since 2018-02-01, as optional
context (``scan --sentiment``).

``GET <base>?limit=N&format=json`` answers ``{"data": [{"value": "21", "value_classification":
"Extreme Fear", "timestamp": "1517443200"}, ...], "metadata": {"error": null}}``, newest
first; each value is for the UTC day starting at its timestamp. Point in time, a day's value
counts from the end of that day (as a daily candle does), so ``--asof 2025-11-04`` shows the
value of 2025-11-04.

The rules are the candle data's: a timeout per request (10 s, ccxt's default), retries with
the same :class:`btcscan.data.fetch.RetryPolicy` (jittered exponential backoff within a
time budget) on timeouts, connection errors, 429, 5xx and bodies that are not the JSON
expected; a cache on disk (``<cache dir>/_context/fear-greed-index.parquet``, written
atomically under a file lock, only ever merged into); only the days after the cached ones
are asked for; ``offline`` reads the cache and makes no connection. When the API cannot be
reached and a cache exists, the cache is used and the metric says it was not refreshed.

The base URL is ``$BTCSCAN_FNG_URL`` when set (tests point it at a loopback server).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from btcscan import __version__
from btcscan.data.fetch import DEFAULT_RETRY, RetryPolicy
from btcscan.data.metrics import DAY_MS, MetricSeries
from btcscan.errors import CacheError, DataError, NetworkError

DEFAULT_URL = "https://api.alternative.me/fng/"
URL_ENV = "BTCSCAN_FNG_URL"
TIMEOUT_S = 10.0
NAME = "fear_greed"
LABEL = "Crypto Fear & Greed Index"
CACHE_NAME = "fear-greed-index.parquet"
_SCHEMA = {"time": pl.Datetime("ms", "UTC"), "value": pl.Float64, "classification": pl.String}


def base_url() -> str:
    return os.environ.get(URL_ENV) or DEFAULT_URL


def cache_file(cache_dir: Path) -> Path:
    """Beside the candle files, in a directory no exchange id can name."""
    return Path(cache_dir) / "_context" / CACHE_NAME


class _Retry(Exception):
    """A failure worth another attempt: timeout, connection, 429, 5xx, a bad body."""


def _get(url: str, timeout: float) -> list[dict]:
    req = urllib.request.Request(url, headers={"User-Agent": f"btcscan/{__version__}",
                                               "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 429 or exc.code >= 500:
            raise _Retry(f"HTTP {exc.code}") from exc
        raise NetworkError(f"Fear & Greed Index {url}: refused with HTTP {exc.code} "
                           f"{exc.reason}; check {URL_ENV}") from exc
    except OSError as exc:  # URLError, socket timeouts, refused connections
        inner = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise _Retry(f"no answer within {timeout:g} s" if isinstance(inner, TimeoutError)
                     else f"{type(inner).__name__}: {inner}") from exc
    try:
        doc = json.loads(body)
        rows = doc["data"]
        if not isinstance(rows, list):
            raise TypeError("data is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise _Retry(f"a reply that is not the index's JSON ({type(exc).__name__})") from exc
    return rows


def fetch_rows(limit: int, *, timeout: float = TIMEOUT_S, policy: RetryPolicy = DEFAULT_RETRY,
               sleep: Callable[[float], None] = time.sleep) -> pl.DataFrame:
    """The ``limit`` newest daily values (0: the whole history) from the API, oldest first."""
    url = f"{base_url()}?limit={int(limit)}&format=json"
    start = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return _frame(_get(url, timeout), url)
        except _Retry as exc:
            elapsed = time.monotonic() - start
            wait = policy.backoff(attempt)
            if attempt >= policy.attempts or elapsed + wait > policy.budget_s:
                raise NetworkError(f"Fear & Greed Index {url}: {exc} after {attempt} "
                                   f"attempt(s) in {elapsed:.1f}s; try again later, or use "
                                   "--offline to read the cache") from exc
            sleep(wait)


def _frame(rows: list[dict], url: str) -> pl.DataFrame:
    try:
        data = {"time": [int(r["timestamp"]) * 1000 for r in rows],
                "value": [float(r["value"]) for r in rows],
                "classification": [r.get("value_classification") for r in rows]}
    except (KeyError, TypeError, ValueError) as exc:
        raise _Retry(f"a row without timestamp or value ({type(exc).__name__})") from exc
    frame = pl.DataFrame(data, schema={"time": pl.Int64, "value": pl.Float64,
                                       "classification": pl.String})
    return frame.with_columns(pl.col("time").cast(_SCHEMA["time"])).sort("time")


def _load(path: Path) -> pl.DataFrame | None:
    if not path.exists():
        return None
    try:
        return pl.read_parquet(path).cast(_SCHEMA)
    except Exception as exc:  # noqa: BLE001 - any unreadable file: say which and what to do
        raise CacheError(f"{path}: unreadable ({type(exc).__name__}); remove it and run "
                         "again without --offline") from exc


def _store(path: Path, new: pl.DataFrame) -> pl.DataFrame:
    """Merge ``new`` into the cache file under its lock, atomically (the candle cache's way)."""
    from filelock import Timeout

    from btcscan.data.cache import LOCK_TIMEOUT_S, _lock, _write_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _lock(path):
            old = _load(path)
            merged = new if old is None else (
                pl.concat([old, new]).unique(subset=["time"], keep="last").sort("time"))
            if old is None or not merged.equals(old):
                _write_atomic(merged, path)
            return merged
    except Timeout as exc:
        raise CacheError(f"{path}: another btcscan run holds the lock for over "
                         f"{LOCK_TIMEOUT_S:.0f}s") from exc
    except OSError as exc:
        raise CacheError(f"{path}: cannot write the cache ({exc.strerror}); choose a writable "
                         "--cache-dir or set BTCSCAN_CACHE_DIR") from exc


def load_fear_greed(cache_dir: Path, *, offline: bool = False, now_ms: int | None = None,
                    timeout: float = TIMEOUT_S, policy: RetryPolicy = DEFAULT_RETRY,
                    sleep: Callable[[float], None] = time.sleep) -> MetricSeries:
    """The index through the cache: only days after the cached ones are fetched (none when
    today's value is cached); ``offline`` reads the cache only. Raises
    :class:`DataError` offline without a cache, :class:`NetworkError` when the API cannot be
    reached and nothing is cached, :class:`CacheError` for an unusable cache."""
    path = cache_file(cache_dir)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    today = now_ms - now_ms % DAY_MS
    cached = _load(path)
    note = None
    if offline:
        if cached is None or cached.height == 0:
            raise DataError(f"--sentiment --offline: no Fear & Greed values cached at {path}; "
                            "run once without --offline first")
        frame, note = cached, "offline: from the cache, not refreshed"
    elif cached is not None and cached.height and _ms(cached["time"][-1]) >= today:
        frame = cached  # today's value is there: nothing newer exists
    else:
        days = 0 if cached is None or not cached.height else (
            (today - _ms(cached["time"][-1])) // DAY_MS + 2)
        try:
            frame = _store(path, fetch_rows(days, timeout=timeout, policy=policy, sleep=sleep))
        except NetworkError as exc:
            if cached is None or not cached.height:
                raise
            frame, note = cached, f"not refreshed ({exc})"
    t = frame["time"].dt.epoch("ms").to_numpy().astype(np.int64)
    first = datetime.fromtimestamp(t[0] / 1000, tz=UTC)
    last = datetime.fromtimestamp(t[-1] / 1000, tz=UTC)
    return MetricSeries(
        name=NAME, label=LABEL,
        source=(f"alternative.me Crypto Fear & Greed Index (0 extreme fear .. 100 extreme "
                f"greed), {base_url()}; daily {first:%Y-%m-%d}..{last:%Y-%m-%d}, cached at "
                f"{path}; a day's value counts from the end of that UTC day, as a daily candle"),
        time_ms=t, known_ms=t + DAY_MS, values=frame["value"].to_numpy().astype(np.float64),
        classes=tuple(frame["classification"].fill_null("").to_list()), note=note)


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)
