"""A loopback exchange: Binance's and Kraken's public REST candle APIs on 127.0.0.1.

The real ccxt client is pointed at it through the ``urls`` entry of an ``[exchanges.<id>]``
config table (:func:`loopback_options`), exactly as a user would point it at a mirror.

Binance (``/api/v3/exchangeInfo``, ``/api/v3/klines``): forward paging with ``startTime``,
``endTime``, ``limit`` (max 1000). Kraken (``/0/public/AssetPairs``, ``/0/public/OHLC``):
``since`` in seconds, candles strictly after it, and only the latest 720 candles exist.

Candles are a deterministic function of market and open time; the last one served is the
candle still forming at :attr:`Exchange.now_ms`. Faults (:meth:`LoopbackServer.fail`) are
consumed in order by candle requests and recorded in :attr:`LoopbackServer.requests`.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DAY_MS = 86_400_000
#: The tests' clock: 2025-11-21 03:00 UTC (a Friday). The 2025-11-21 daily candle is forming;
#: the last closed one opened 2025-11-20.
NOW = 1_763_694_000_000
TODAY = NOW - NOW % DAY_MS
INTERVALS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "4h": 14_400_000,
             "1d": DAY_MS, "3d": 3 * DAY_MS, "1w": 7 * DAY_MS}
KRAKEN_MINUTES = {1: "1m", 5: "5m", 15: "15m", 60: "1h", 240: "4h", 1440: "1d", 10080: "1w"}
#: What Binance (or the gateway in front of it) really sends with these statuses.
DEFAULT_BODIES = {
    429: '{"code":-1003,"msg":"Too many requests; current limit is 6000 request weight per 1 '
         'MINUTE."}',
    418: '{"code":-1003,"msg":"Way too many requests; IP banned until 1763694100000."}',
    500: '{"code":-1000,"msg":"An unknown error occured while processing the request."}',
    502: "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>",
    503: '{"code":-1008,"msg":"Server is currently overloaded with other requests. Please try '
         'again in a few minutes."}',
}


def candle(symbol: str, interval_ms: int, open_ms: int) -> list[float]:
    """A deterministic, consistent candle: [open, high, low, close, volume]."""
    seed = sum(map(ord, symbol)) % 97
    def price(t: int) -> float:
        return 100.0 + seed + 20.0 * math.sin(t / (40 * DAY_MS) + seed)
    o, c = price(open_ms), price(open_ms + interval_ms)
    return [round(o, 6), round(max(o, c) * 1.01, 6), round(min(o, c) * 0.99, 6), round(c, 6),
            round(10.0 + seed, 6)]


def week_offset(interval_ms: int) -> int:
    return 4 * DAY_MS if interval_ms == 7 * DAY_MS else 0  # weeks open Monday


@dataclass
class Market:
    symbol: str  # unified, e.g. BTC/USDT
    listed_ms: int  # first candle open time


@dataclass
class Request:
    path: str
    query: dict
    status: int = 200
    fault: str | None = None
    at: float = 0.0
    headers: dict = field(default_factory=dict)  # as the client sent them


@dataclass
class Fault:
    #: status stall truncated html empty duplicate reversed nulls badhigh stuck repeat none
    kind: str
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: str = ""
    seconds: float = 0.0
    times: int = 1


class Handler(BaseHTTPRequestHandler):
    server: LoopbackServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        req = Request(parts.path, query, at=time.monotonic(), headers=dict(self.headers))
        srv = self.server
        with srv.lock:
            srv.requests.append(req)
        candles = parts.path in ("/api/v3/klines", "/0/public/OHLC")
        fault = srv.next_fault() if candles else None
        req.fault = fault.kind if fault else None
        if fault and fault.kind == "status":
            req.status = fault.status
            body = fault.body or DEFAULT_BODIES.get(fault.status, "")
            return self.reply(fault.status, body, headers=fault.headers,
                              ctype="text/html" if body.startswith("<") else "application/json")
        if fault and fault.kind == "stall":
            time.sleep(fault.seconds)
        if fault and fault.kind == "html":
            return self.reply(200, "<html><body><h1>Maintenance</h1></body></html>",
                              ctype="text/html")
        try:
            if parts.path == "/api/v3/exchangeInfo":
                return self.reply(200, json.dumps(srv.binance_exchange_info()))
            if parts.path in ("/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"):
                return self.reply(200, json.dumps({"timezone": "UTC", "symbols": []}))
            if parts.path == "/api/v3/ticker/24hr":  # fetch_tickers (btcscan scan --top)
                status, body = 200, srv.binance_tickers()
            elif parts.path == "/api/v3/klines":
                status, body = srv.binance_klines(query, fault)
            elif parts.path == "/0/public/AssetPairs":
                status, body = 200, srv.kraken_pairs()
            elif parts.path == "/0/public/Assets":
                status, body = 200, srv.kraken_assets()
            elif parts.path == "/0/public/OHLC":
                status, body = srv.kraken_ohlc(query, fault)
            else:
                status, body = 404, {"code": -1, "msg": f"no route {parts.path}"}
        except Exception as exc:  # noqa: BLE001 - a server bug must show as a 500 in the test
            status, body = 500, {"msg": repr(exc)}
        req.status = status
        text = json.dumps(body)
        if fault and fault.kind == "truncated":
            text = text[: len(text) // 2]
        self.reply(status, text)

    def reply(self, status: int, text: str, *, ctype: str = "application/json",
              headers: dict | None = None) -> None:
        data = text.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            pass


class LoopbackServer(ThreadingHTTPServer):
    """The server; start with :func:`serve`. ``now_ms`` is the exchange's clock."""

    daemon_threads = True

    def __init__(self, now_ms: int) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.now_ms = now_ms
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.markets: dict[str, Market] = {}
        self.kraken_keep = 720
        #: 24 h quote volume per symbol for the tickers (default: 1e6)
        self.volumes: dict[str, float] = {}

    # -- set-up ------------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def add_market(self, symbol: str, listed_ms: int) -> None:
        self.markets[symbol] = Market(symbol, listed_ms)

    def fail(self, kind: str, times: int = 1, **kw) -> None:
        """Queue a fault for the next ``times`` candle requests."""
        self.faults.append(Fault(kind=kind, times=times, **kw))

    def next_fault(self) -> Fault | None:
        with self.lock:
            if not self.faults:
                return None
            f = self.faults[0]
            f.times -= 1
            if f.times <= 0:
                self.faults.pop(0)
            return f

    def candle_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path in ("/api/v3/klines", "/0/public/OHLC")]

    def reset_log(self) -> None:
        with self.lock:
            self.requests.clear()

    # -- candles -----------------------------------------------------------------------------
    def series(self, symbol: str, interval_ms: int, start_ms: int, end_ms: int) -> list[list]:
        """Candles with open in [start_ms, end_ms], up to and including the forming one."""
        m = self.markets[symbol]
        off = week_offset(interval_ms)
        first = max(start_ms, m.listed_ms)
        first = first + (-(first - off)) % interval_ms
        last_open = self.now_ms - (self.now_ms - off) % interval_ms
        out = []
        t = first
        while t <= min(end_ms, last_open):
            out.append([t, *candle(symbol, interval_ms, t)])
            t += interval_ms
        return out

    def _by_id(self, market_id: str) -> str | None:
        for s in self.markets:
            if s.replace("/", "") == market_id or self.kraken_id(s) == market_id:
                return s
        return None

    def binance_exchange_info(self) -> dict:
        syms = []
        for s in self.markets:
            base, quote = s.split("/")
            syms.append({
                "symbol": base + quote, "status": "TRADING", "baseAsset": base,
                "baseAssetPrecision": 8, "quoteAsset": quote, "quotePrecision": 8,
                "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "MARKET"],
                "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
                "permissions": ["SPOT"], "permissionSets": [["SPOT"]],
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000",
                     "tickSize": "0.01"},
                    {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000",
                     "stepSize": "0.00001"},
                ],
            })
        return {"timezone": "UTC", "serverTime": self.now_ms, "rateLimits": [],
                "exchangeFilters": [], "symbols": syms}

    def binance_tickers(self) -> list[dict]:
        """``/api/v3/ticker/24hr`` for every market; quote volume from :attr:`volumes`."""
        out = []
        for s in self.markets:
            last = candle(s, DAY_MS, self.now_ms - self.now_ms % DAY_MS)[3]
            qv = self.volumes.get(s, 1e6)
            out.append({
                "symbol": s.replace("/", ""), "priceChange": "0", "priceChangePercent": "0",
                "weightedAvgPrice": str(last), "prevClosePrice": str(last),
                "lastPrice": str(last), "lastQty": "1", "bidPrice": str(last),
                "askPrice": str(last), "openPrice": str(last), "highPrice": str(last),
                "lowPrice": str(last), "volume": str(qv / last), "quoteVolume": str(qv),
                "openTime": self.now_ms - DAY_MS, "closeTime": self.now_ms, "firstId": 1,
                "lastId": 2, "count": 2})
        return out

    def _apply(self, rows: list[list], fault: Fault | None, interval_ms: int) -> list[list]:
        if fault is None:
            return rows
        if fault.kind == "empty":
            return []
        if fault.kind == "duplicate" and len(rows) > 3:
            return rows[:2] + [rows[1]] + [rows[3], rows[2]] + rows[4:]
        if fault.kind == "reversed":
            return rows[::-1]
        if fault.kind == "nulls" and len(rows) > 2:
            rows = [list(r) for r in rows]
            rows[1] = [rows[1][0], None, None, None, None, None]
            return rows
        if fault.kind == "badhigh" and len(rows) > 2:
            rows = [list(r) for r in rows]
            rows[2][2] = rows[2][3] * 0.5  # high below low
            return rows
        return rows

    def binance_klines(self, q: dict, fault: Fault | None) -> tuple[int, object]:
        symbol = self._by_id(q.get("symbol", ""))
        if symbol is None:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        interval = INTERVALS.get(q.get("interval", ""))
        if interval is None:
            return 400, {"code": -1120, "msg": "Invalid interval."}
        limit = min(int(q.get("limit", 500)), 1000)
        start = int(q["startTime"]) if "startTime" in q else None
        end = int(q["endTime"]) if "endTime" in q else self.now_ms
        if fault and fault.kind == "stuck":
            start = None  # ignores startTime: the latest page every time
        if fault and fault.kind == "repeat":
            start = 0  # ignores startTime: the earliest page every time
        if start is None:
            rows = self.series(symbol, interval, 0, end)[-limit:]
        else:
            rows = self.series(symbol, interval, start, end)[:limit]
        rows = self._apply(rows, fault, interval)
        return 200, [[r[0], *(None if v is None else f"{v:.8f}" for v in r[1:6]),
                      r[0] + interval - 1, "0", 1, "0", "0", "0"] for r in rows]

    # -- kraken ------------------------------------------------------------------------------
    @staticmethod
    def kraken_id(symbol: str) -> str:
        base, quote = symbol.split("/")
        return "X" + {"BTC": "XBT"}.get(base, base) + "Z" + quote

    def kraken_assets(self) -> dict:
        assets = {}
        for s in self.markets:
            for cur in s.split("/"):
                code = {"BTC": "XBT"}.get(cur, cur)
                key = ("X" if cur != "USD" else "Z") + code
                assets[key] = {"aclass": "currency", "altname": code, "decimals": 8,
                               "display_decimals": 5, "status": "enabled"}
        return {"error": [], "result": assets}

    def kraken_pairs(self) -> dict:
        out = {}
        for s in self.markets:
            base, quote = s.split("/")
            kb = {"BTC": "XBT"}.get(base, base)
            out[self.kraken_id(s)] = {
                "altname": kb + quote, "wsname": f"{kb}/{quote}", "aclass_base": "currency",
                "base": "X" + kb, "aclass_quote": "currency", "quote": "Z" + quote,
                "lot": "unit", "cost_decimals": 5, "pair_decimals": 1, "lot_decimals": 8,
                "lot_multiplier": 1, "leverage_buy": [], "leverage_sell": [],
                "fees": [[0, 0.26]], "fees_maker": [[0, 0.16]], "fee_volume_currency": "ZUSD",
                "margin_call": 80, "margin_stop": 40, "ordermin": "0.0001", "costmin": "0.5",
                "tick_size": "0.1", "status": "online",
            }
        return {"error": [], "result": out}

    def kraken_ohlc(self, q: dict, fault: Fault | None) -> tuple[int, object]:
        symbol = self._by_id(q.get("pair", ""))
        if symbol is None:
            return 200, {"error": ["EQuery:Unknown asset pair"]}
        minutes = int(q.get("interval", 1))
        if minutes not in KRAKEN_MINUTES:
            return 200, {"error": ["EGeneral:Invalid arguments"]}
        interval = minutes * 60_000
        rows = self.series(symbol, interval, 0, self.now_ms)[-self.kraken_keep:]
        if "since" in q:
            since_ms = int(float(q["since"])) * 1000
            rows = [r for r in rows if r[0] > since_ms]
        rows = self._apply(rows, fault, interval)
        data = [[r[0] // 1000, *(None if v is None else f"{v:.8f}" for v in r[1:5]), "0",
                 None if r[5] is None else f"{r[5]:.8f}", 1] for r in rows]
        last = rows[-1][0] // 1000 if rows else int(q.get("since", 0) or 0)
        return 200, {"error": [], "result": {self.kraken_id(symbol): data, "last": last}}


def serve(now_ms: int) -> LoopbackServer:
    """Start a server on a random port in a daemon thread; call ``shutdown()`` when done."""
    srv = LoopbackServer(now_ms)
    threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True,
                     name="loopback-exchange").start()
    return srv


def rewrite_urls(value: object, base: str) -> object:
    """Every URL in a ccxt ``urls['api']`` tree re-homed on ``base``, keeping each path."""
    if isinstance(value, dict):
        return {k: rewrite_urls(v, base) for k, v in value.items()}
    if isinstance(value, str) and "://" in value:
        rest = value.split("://", 1)[1]
        path = rest[rest.find("/"):] if "/" in rest else ""
        return base + path
    return value


def loopback_options(exchange: str, base: str, **extra) -> dict:
    """An ``[exchanges.<id>]`` table that points the real ccxt client at ``base``."""
    import ccxt

    api = getattr(ccxt, exchange)().urls["api"]
    opts = {"urls": {"api": rewrite_urls(api, base)}, "timeout": 2000, "rateLimit": 0}
    opts.update(extra)
    return opts
