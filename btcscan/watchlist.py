"""Watchlists: many markets, across exchanges and timeframes, in one run.

A market is written ``[EXCHANGE:]SYMBOL[@TIMEFRAME]``: ``binance:ETH/USDT@1d``,
``kraken:BTC/USD``, ``SOL/USDT`` (the run's ``--exchange`` and ``--timeframe``). The exchange
``sample`` names the bundled history (offline): ``sample:ETH/USDT@1d``.

Markets come from arguments, from a file of them (``--symbols-file``: one per line, ``#``
comments), from the config's ``[watchlist]`` table, or from an exchange's most traded
markets (``--top N --quote USDT``, by 24 h quote volume from its tickers).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from btcscan.errors import ConfigError, UsageError

SAMPLE_EXCHANGE = "sample"


@dataclass(frozen=True)
class MarketSpec:
    """One market of a watchlist; ``None`` means the run's exchange or timeframe."""

    symbol: str
    exchange: str | None = None
    timeframe: str | None = None

    def text(self) -> str:
        return (f"{self.exchange}:" if self.exchange else "") + self.symbol + (
            f"@{self.timeframe}" if self.timeframe else "")


def parse_market(text: str, where: str = "market") -> MarketSpec:
    """``[EXCHANGE:]SYMBOL[@TIMEFRAME]`` -> :class:`MarketSpec` (UsageError if malformed)."""
    t = text.strip()
    exchange = timeframe = None
    if "@" in t:
        t, _, timeframe = t.rpartition("@")
        from btcscan.timeframes import parse_timeframe

        parse_timeframe(timeframe)  # a bad timeframe fails here, naming itself
    if ":" in t:
        exchange, _, t = t.partition(":")
        exchange = exchange.strip().lower() or None
    t = t.strip()
    if not t or " " in t:
        raise UsageError(f"{where}: {text!r} is not a market; write [EXCHANGE:]SYMBOL[@TIMEFRAME], "
                         "e.g. binance:ETH/USDT@1d")
    return MarketSpec(symbol=t.upper(), exchange=exchange, timeframe=timeframe)


def read_symbols_file(path: str | Path) -> list[MarketSpec]:
    """Markets listed in a text file: one per line (commas also separate), ``#`` comments."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--symbols-file {p}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"--symbols-file {p}: not UTF-8 text (byte {exc.start}); re-save it "
                         "as UTF-8") from None
    out: list[MarketSpec] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0]
        for item in line.replace(",", " ").split():
            out.append(parse_market(item, f"{p}:{n}"))
    if not out:
        raise UsageError(f"--symbols-file {p}: no market listed")
    return out


#: ``[watchlist]`` keys and what each allows
WATCHLIST_KEYS = {
    "markets": "a list of markets, e.g. [\"binance:BTC/USDT@1d\", \"sample:ETH/USDT\"]",
    "exchange": "an exchange id for markets without one (ccxt id, or \"sample\")",
    "top": "an integer >= 1: the exchange's most traded markets",
    "quote": "a quote currency for top, e.g. \"USDT\"",
}


def check_watchlist(table: Any, where: str) -> None:
    """Validate a ``[watchlist]`` table (ConfigError naming file, key and what is allowed)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [watchlist] must be a table")
    for key, value in table.items():
        if key not in WATCHLIST_KEYS:
            raise ConfigError(f"{where}: unknown key watchlist.{key}; allowed: "
                              f"{', '.join(WATCHLIST_KEYS)}")
        ok = {"markets": isinstance(value, list) and all(isinstance(v, str) for v in value),
              "exchange": isinstance(value, str) and bool(value),
              "top": isinstance(value, int) and not isinstance(value, bool) and value >= 1,
              "quote": isinstance(value, str) and bool(value)}[key]
        if not ok:
            raise ConfigError(f"{where}: watchlist.{key} = {value!r} is not {WATCHLIST_KEYS[key]}")
    for i, m in enumerate(table.get("markets", [])):
        try:
            parse_market(m)
        except UsageError as exc:
            raise ConfigError(f"{where}: watchlist.markets[{i}]: {exc}") from None
    if "quote" in table and "top" not in table:
        raise ConfigError(f"{where}: watchlist.quote needs watchlist.top")


def top_markets(tickers: dict[str, dict], n: int, quote: str | None = None,
                markets: dict[str, dict] | None = None) -> list[str]:
    """The ``n`` symbols with the largest 24 h quote volume (``quoteVolume``, else
    ``baseVolume * last``), spot markets only when ``markets`` says so, optionally one quote."""
    rows: list[tuple[float, str]] = []
    q = quote.upper() if quote else None
    for sym, t in tickers.items():
        m = (markets or {}).get(sym, {})
        if m and (m.get("spot") is False or m.get("active") is False):
            continue
        if q and (m.get("quote") or sym.partition("/")[2].split(":")[0]) != q:
            continue
        vol = t.get("quoteVolume")
        if vol is None and t.get("baseVolume") is not None and t.get("last") is not None:
            vol = float(t["baseVolume"]) * float(t["last"])
        if vol is None:
            continue
        rows.append((float(vol), sym))
    rows.sort(key=lambda r: (-r[0], r[1]))
    return [s for _, s in rows[:n]]


def fetch_top(exchange: str, n: int, quote: str | None, options: dict | None = None,
              factory: Any = None) -> list[str]:
    """An exchange's ``n`` most traded markets (one tickers request through ccxt)."""
    from btcscan.data.fetch import DEFAULT_RETRY, RateLimiter, Stats, call, make_client

    client = make_client(exchange, options, factory=factory)
    limiter = RateLimiter(float(getattr(client, "rateLimit", 0) or 0))
    markets = call(client, client.load_markets, what=f"{exchange} market list",
                   limiter=limiter, policy=DEFAULT_RETRY, stats=Stats())
    tickers = call(client, client.fetch_tickers, what=f"{exchange} tickers", limiter=limiter,
                   policy=DEFAULT_RETRY, stats=Stats())
    top = top_markets(tickers, n, quote, markets)
    if not top:
        raise UsageError(f"--top {n}: {exchange} reports no traded market"
                         + (f" quoted in {quote}" if quote else ""))
    return top


def group_markets(specs: Iterable[MarketSpec], exchange: str, timeframe: str
                  ) -> dict[tuple[str, str], list[str]]:
    """(exchange, timeframe) -> symbols, in first-seen order, duplicates dropped."""
    seen: dict[tuple[str, str], dict[str, None]] = {}  # dicts keep first-seen order
    for s in specs:
        seen.setdefault((s.exchange or exchange, s.timeframe or timeframe), {})[s.symbol] = None
    return {key: list(syms) for key, syms in seen.items()}


def specs_of(items: Sequence[str], where: str = "market") -> list[MarketSpec]:
    return [parse_market(t, where) for t in items]
