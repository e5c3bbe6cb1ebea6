"""Candles from an exchange through ccxt: client, rate limit, retries, pagination, validation.

ccxt is imported only inside functions (``import ccxt`` costs ~0.6 s). Nothing here touches
the disk; :mod:`btcscan.data.market` combines this with the cache.

* :class:`RateLimiter` spaces requests to one exchange ``rateLimit`` ms apart, shared by all
  worker threads (ccxt's own throttle is not thread-safe, so it is switched off).
* :func:`call` retries ccxt's recoverable family (``NetworkError``/``OperationFailed``:
  timeouts, 418/429), any HTTP 5xx and non-JSON bodies with exponential backoff and jitter
  (50-100% of the step), honouring ``Retry-After``, within :attr:`RetryPolicy.budget_s`;
  refusals (bad symbol, bad request, credentials, other ``ExchangeError``) are never
  retried. Both end as a one-line :mod:`btcscan.errors` exception.
* :func:`paginate` walks forward from ``since`` in the exchange's largest page and stops on an
  empty or non-advancing page, or once no further closed candle can exist.
* :func:`validate_rows` checks every row and returns the good ones plus a report of the rest.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from btcscan.data.schema import SCHEMA, TIME, _fmt_time
from btcscan.errors import ExchangeError, NetworkError
from btcscan.timeframes import DAY_MS, Timeframe

#: Largest page per exchange where ccxt's ``features`` does not say (candles per request).
PAGE_LIMITS = {"binance": 1000, "bitstamp": 1000, "coinbase": 300, "okx": 300, "kucoin": 1500,
               "kraken": 720}
DEFAULT_PAGE = 500
#: Exchanges whose native 3d/1w/1M candles open where btcscan's do (epoch 3-day buckets,
#: Monday 00:00 UTC weeks, calendar months). Everywhere else these are built from 1d candles.
CALENDAR_NATIVE = frozenset({"binance", "binanceus", "binanceusdm", "binancecoinm"})

ClientFactory = Callable[[str, dict], Any]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Delays in seconds; ``budget_s`` bounds the total time of one call."""

    attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 30.0
    budget_s: float = 90.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff, jittered to 50-100%, for the ``attempt``-th retry (1-based)."""
        return random.uniform(0.5, 1.0) * min(self.cap_s, self.base_s * 2 ** (attempt - 1))


DEFAULT_RETRY = RetryPolicy()


class RateLimiter:
    """Hands out request slots at least ``interval_ms`` apart, across threads.

    ``defer(seconds)`` pushes every later slot back (a 429's ``Retry-After`` concerns the
    whole IP, not one thread).
    """

    def __init__(self, interval_ms: float) -> None:
        self.interval_s = max(0.0, interval_ms) / 1000.0
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval_s
        if slot > now:
            time.sleep(slot - now)

    def defer(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


@dataclass
class Stats:
    """What one market's fetch cost: requests sent (retries included) and the retries' causes."""

    requests: int = 0
    retries: list[str] = field(default_factory=list)


class _BadBody(Exception):
    """The exchange answered 200 with something that is not JSON (an HTML page, cut JSON)."""


def default_client_factory(exchange: str, config: dict) -> Any:
    """``ccxt.<exchange>(config)``; raises :class:`ExchangeError` for an unknown id."""
    import ccxt

    cls = getattr(ccxt, exchange, None) if exchange in ccxt.exchanges else None
    if cls is None:
        raise ExchangeError(
            f"unknown exchange {exchange!r}: use a ccxt exchange id such as binance, kraken, "
            "okx or coinbase (python -c 'import ccxt; print(ccxt.exchanges)')"
        )
    return cls(config)


def make_client(exchange: str, options: dict | None = None, *,
                factory: ClientFactory | None = None) -> Any:
    """A ccxt client for ``exchange`` built from its ``[exchanges.<id>]`` options.

    API keys come only from the environment (:func:`btcscan.config.exchange_credentials`).
    ccxt's own throttle is off: :class:`RateLimiter` spaces requests across threads.
    """
    from btcscan.config import exchange_credentials

    config = {**(options or {}), **exchange_credentials(exchange)}
    if "apiKey" in config:  # keys make ccxt load currencies privately; candles need none of it
        config["options"] = {"fetchCurrencies": False, "fetchMargins": False,
                             **(config.get("options") or {})}
    # ccxt's verbose mode prints every request with its headers (keys included) to stdout:
    # machine output would break and secrets leak (the config refuses it too)
    config["verbose"] = False
    config["enableRateLimit"] = False
    config["enableLastJsonResponse"] = True  # tells a non-JSON body (HTML, cut JSON) apart
    client = (factory or default_client_factory)(exchange, config)
    _record_status(client)
    return client


def _record_status(client: Any) -> None:
    """Keep the HTTP status of the last reply in ``client.btcscan_status`` (ccxt does not)."""
    original = getattr(client, "on_rest_response", None)
    if original is None:
        return

    def on_rest_response(code, *args):  # ccxt calls it for every reply, error or not
        client.btcscan_status = code
        return original(code, *args)

    client.on_rest_response = on_rest_response


def page_limit(client: Any) -> int:
    """The largest number of candles the exchange returns per ``fetch_ohlcv`` call."""
    feats = getattr(client, "features", None) or {}
    for kind in ("spot", "swap"):
        spec = feats.get(kind) or {}
        spec = spec.get("fetchOHLCV") if isinstance(spec, dict) else None
        if isinstance(spec, dict) and isinstance(spec.get("limit"), int):
            return spec["limit"]
    return PAGE_LIMITS.get(client.id, DEFAULT_PAGE)


def _retry_after(client: Any) -> float | None:
    headers = getattr(client, "last_response_headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time()) if when else None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text[:150] + "...") if len(text) > 150 else text


def call(client: Any, fn: Callable[[], Any], *, what: str, limiter: RateLimiter,
         policy: RetryPolicy, stats: Stats, sleep: Callable[[float], None] = time.sleep) -> Any:
    """Run one request ``fn()`` with rate limiting and retries.

    ``what`` names the exchange and market for messages (``"binance BTC/USDT"``). Raises
    :class:`btcscan.errors.NetworkError` once the attempts or the time budget are spent and
    :class:`btcscan.errors.ExchangeError` at once for refusals.
    """
    import ccxt

    start = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        limiter.acquire()
        stats.requests += 1
        client.last_response_headers = None
        client.last_json_response = None
        client.last_http_response = None
        client.btcscan_status = None
        try:
            result = fn()
            if client.last_json_response is None and client.last_http_response:
                raise _BadBody(client.last_http_response)
            return result
        except ccxt.BaseError as exc:
            if not _retryable(exc, client):
                raise ExchangeError(_refusal(exc, what)) from exc
            failure: BaseException = exc
        except (_BadBody, TypeError, ValueError, KeyError, IndexError) as exc:
            # ccxt's parsers choke on a body that is not the JSON they expect; only then is
            # this a bad reply, otherwise it is a bug and must surface.
            if not isinstance(exc, _BadBody) and (
                    client.last_json_response is not None or not client.last_http_response):
                raise
            failure = _BadBody(client.last_http_response)
        cause = _cause(failure, client)
        elapsed = time.monotonic() - start
        wait = policy.backoff(attempt)
        after = _retry_after(client)
        if after is not None:
            wait = max(wait, after)
            limiter.defer(after)
        if attempt >= policy.attempts or elapsed + wait > policy.budget_s:
            raise NetworkError(
                f"{what}: {cause} after {attempt} attempt(s) in {elapsed:.1f}s; "
                + _advice(failure)
            ) from failure
        stats.retries.append(cause)
        sleep(wait)


def _retryable(exc: BaseException, client: Any) -> bool:
    """ccxt's recoverable family (NetworkError, OperationFailed), or any reply with HTTP 5xx
    (Binance answers some 503s with a JSON code ccxt files as ExchangeError). Refusals of
    the request itself (bad symbol or request, credentials, not supported) never are."""
    import ccxt

    if isinstance(exc, ccxt.BadSymbol | ccxt.BadRequest | ccxt.AuthenticationError
                  | ccxt.PermissionDenied | ccxt.NotSupported | ccxt.AccountSuspended):
        return False
    if isinstance(exc, ccxt.OperationFailed):
        return True
    status = getattr(client, "btcscan_status", None)
    return isinstance(status, int) and status >= 500


def _cause(exc: BaseException, client: Any = None) -> str:
    import ccxt

    if isinstance(exc, _BadBody):
        body = str(exc).lstrip()[:1]
        return "the reply was HTML, not JSON" if body == "<" else "the reply was not valid JSON"
    if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return f"rate-limited ({type(exc).__name__})"
    if isinstance(exc, ccxt.RequestTimeout):
        return "timed out (RequestTimeout)"
    status = getattr(client, "btcscan_status", None)
    if isinstance(exc, ccxt.ExchangeNotAvailable) or (isinstance(status, int) and status >= 500):
        return f"unavailable (HTTP {status}, {type(exc).__name__})"
    return f"network error ({type(exc).__name__})"


def _advice(exc: BaseException) -> str:
    import ccxt

    if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return "wait a few minutes, or raise rateLimit in the [exchanges.<id>] config table"
    if isinstance(exc, ccxt.RequestTimeout):
        return ("check the connection or proxy, or raise timeout in the [exchanges.<id>] "
                "config table")
    return "check the connection, proxy or urls in the config, or retry later"


def _refusal(exc: BaseException, what: str) -> str:
    import ccxt

    if isinstance(exc, ccxt.BadSymbol):
        return f"{what}: the exchange does not list this market; check the symbol (e.g. BTC/USDT)"
    if isinstance(exc, ccxt.AuthenticationError | ccxt.PermissionDenied):
        return (f"{what}: the exchange refused the credentials ({type(exc).__name__}); candles "
                "need no API key: unset BTCSCAN_<ID>_API_KEY/_SECRET")
    if isinstance(exc, ccxt.NotSupported):
        return f"{what}: not supported by this exchange through ccxt ({_short(exc)})"
    return (f"{what}: the exchange refused the request ({type(exc).__name__}: {_short(exc)}); "
            "check the symbol, --timeframe and --since")


# ---------------------------------------------------------------------------------------------
# validation


def on_grid(open_ms: int, tf: Timeframe) -> bool:
    """Whether ``open_ms`` is a valid open time for ``tf`` (weeks: Monday 00:00 UTC)."""
    if tf.unit == "M":
        from datetime import UTC, datetime

        d = datetime.fromtimestamp(open_ms / 1000, tz=UTC)
        return (d.day, d.hour, d.minute, d.second, d.microsecond) == (1, 0, 0, 0, 0) and (
            (d.year * 12 + d.month - 1) % tf.count == 0)
    offset = 4 * DAY_MS if tf.unit == "w" else 0  # 1970-01-01 was a Thursday
    return (open_ms - offset) % tf.ms == 0


def _row_problem(row: Any, tf: Timeframe) -> str | None:
    if not isinstance(row, list | tuple) or len(row) < 6:
        return "not a candle"
    ts = row[0]
    if not isinstance(ts, int | float) or isinstance(ts, bool) or not math.isfinite(ts):
        return "no timestamp"
    vals = row[1:6]
    if any(v is None or isinstance(v, bool) or not isinstance(v, int | float) for v in vals):
        return "empty field"
    if not all(math.isfinite(v) for v in vals):
        return "non-finite number"
    o, h, lo, c, v = vals
    if min(o, h, lo, c) <= 0 or v < 0:
        return "zero or negative number"
    if h < max(o, c, lo) or lo > min(o, c):
        return "high/low inconsistent with open/close"
    if not on_grid(int(ts), tf):
        return f"open time off the {tf} grid"
    return None


@dataclass
class Validated:
    """Rows that passed, sorted and unique, as a canonical frame, and what was done to the rest."""

    frame: pl.DataFrame
    rejected: int = 0
    notes: list[str] = field(default_factory=list)


def validate_rows(rows: list, tf: Timeframe, where: str, *, limit: int = 3) -> Validated:
    """Check every raw ``[ms, o, h, l, c, v]`` row; return the good ones as a canonical frame.

    Rejected (reported with count and the first ``limit``): missing or non-finite numbers,
    high < max(open, close), low > min(open, close), non-positive prices, negative volume,
    open times off the timeframe's grid, and different candles sharing an open time. Exact
    duplicates are dropped and out-of-order rows sorted, each with a note.
    """
    good: dict[int, tuple] = {}
    bad: list[str] = []
    dupes = 0
    conflicts: set[int] = set()
    unsorted = False
    last = None
    for row in rows:
        problem = _row_problem(row, tf)
        if problem:
            ts = row[0] if isinstance(row, list | tuple) and row else None
            when = _fmt_time(int(ts)) if isinstance(ts, int | float) and math.isfinite(ts) else "?"
            bad.append(f"{when} ({problem})")
            continue
        ts = int(row[0])
        vals = tuple(float(v) for v in row[1:6])
        if last is not None and ts < last:
            unsorted = True
        last = ts
        if ts in good:
            if good[ts] == vals:
                dupes += 1
            else:
                conflicts.add(ts)
            continue
        good[ts] = vals
    for ts in conflicts:
        del good[ts]
        bad.append(f"{_fmt_time(ts)} (two different candles with this open time)")
    notes = []
    if bad:
        notes.append(f"{where}: rejected {len(bad)} invalid candle(s), not cached: "
                     + ", ".join(bad[:limit]) + (" ..." if len(bad) > limit else ""))
        if not good and all("grid" in b for b in bad):
            notes.append(
                f"{where}: no candle opens on the UTC {tf} grid; this exchange anchors its {tf} "
                "candles elsewhere (another time zone or weekday): try another exchange or a "
                "finer --timeframe"
            )
    if dupes:
        notes.append(f"{where}: the exchange sent {dupes} duplicated candle(s); kept one of each")
    if unsorted:
        notes.append(f"{where}: the exchange sent candles out of time order; sorted them")
    keys = sorted(good)
    frame = pl.DataFrame(
        {TIME: keys, **{c: [good[k][i] for k in keys]
                        for i, c in enumerate(("open", "high", "low", "close", "volume"))}},
        schema={TIME: pl.Int64, **{c: pl.Float64 for c in ("open", "high", "low", "close",
                                                             "volume")}},
    ).with_columns(pl.col(TIME).cast(SCHEMA[TIME]))
    return Validated(frame=frame, rejected=len(bad), notes=notes)


# ---------------------------------------------------------------------------------------------
# pagination


@dataclass
class Page:
    """The raw rows of one pagination run and what the walk learnt about the exchange."""

    rows: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def paginate(client: Any, symbol: str, tf: Timeframe, since_ms: int, now_ms: int, *,
             limiter: RateLimiter, policy: RetryPolicy, stats: Stats,
             until_ms: int | None = None,
             on_page: Callable[[int], None] | None = None) -> Page:
    """Fetch raw candles forward from ``since_ms`` (ms, inclusive) in the largest page.

    Stops on an empty page, a page that does not advance past the previous one, once no
    closed candle can exist after the last row (judged at ``now_ms``), or at ``until_ms``.
    Rows are returned as sent (not yet validated; the forming candle included).
    """
    what = f"{client.id} {symbol}"
    limit = page_limit(client)
    out = Page()
    cursor = since_ms
    last_ts: int | None = None
    first_page = True
    while True:
        rows = call(client, lambda c=cursor: client.fetch_ohlcv(symbol, tf.text, c, limit),
                    what=what, limiter=limiter, policy=policy, stats=stats)
        rows = rows if isinstance(rows, list) else []
        stamps = [int(r[0]) for r in rows if isinstance(r, list | tuple) and r
                  and isinstance(r[0], int | float) and not isinstance(r[0], bool)
                  and math.isfinite(r[0])]
        if not stamps:
            if rows:
                out.rows.extend(rows)  # all invalid: validation reports them
            elif tf.period_end_ms(cursor) <= now_ms and (until_ms is None or cursor < until_ms):
                # ccxt drops rows older than 'since' itself, so an exchange that ignores
                # 'since' shows up here as an empty page, not as a repeated one
                out.notes.append(
                    f"{what}: the exchange sent no {tf} candles from {_fmt_time(cursor)} on, "
                    "though closed ones should exist (it may ignore 'since', or the market "
                    "halted); stopped there, the next run asks again"
                )
            break
        newest = max(stamps)
        if last_ts is not None and newest <= last_ts:
            out.notes.append(
                f"{what}: the exchange sent a page that does not advance past "
                f"{_fmt_time(last_ts)} (it may ignore 'since'); stopped there"
            )
            break
        if first_page and len(stamps) >= limit and min(stamps) > since_ms + tf.ms \
                and tf.period_end_ms(tf.period_end_ms(newest)) > now_ms:
            asked = f"from {_fmt_time(since_ms)}" if since_ms > 0 else "from its earliest"
            out.notes.append(
                f"{what}: asked for {tf} candles {asked} but got only the latest {len(stamps)} "
                f"(from {_fmt_time(min(stamps))}); this exchange keeps only recent candles or "
                "ignores 'since', so older history is not available from it"
            )
        if last_ts is not None:  # pages may overlap (since rounded to seconds): not a fault
            rows = [r for r in rows if not (isinstance(r, list | tuple) and r
                                            and isinstance(r[0], int | float)
                                            and r[0] <= last_ts)]
        first_page = False
        out.rows.extend(rows)
        if on_page:
            on_page(len(rows))
        last_ts = newest
        # the next candle opens at period_end(newest); stop unless it may already be closed
        if tf.period_end_ms(tf.period_end_ms(newest)) > now_ms:
            break
        if until_ms is not None and newest >= until_ms:
            break
        cursor = newest + 1
    return out

