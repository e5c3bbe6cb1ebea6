"""Refresh many markets from the loopback exchange and compare the wall time with the
rate-limit floor (requests x rateLimit): the time no client that respects the limit can beat.

    python benchmarks/bench_fetch.py [--symbols 200] [--rate-limit 50] [--days 1500]

Three runs against one cache: cold (every market from its listing, ~2 pages each), one day
later (one new closed candle per market) and at once again (already current). The loopback
server runs in a child process so it does not share the client's interpreter lock. Run by
hand; tests never assert on wall time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SERVER = """
import sys, time
from tests.exchange_server import DAY_MS, serve
now, n, days = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
srv = serve(now)
for i in range(n):
    srv.add_market(f"C{i:03d}/USDT", now - now % DAY_MS - days * DAY_MS)
print(srv.base, flush=True)
for line in sys.stdin:  # "now <ms>" moves the exchange's clock; EOF ends the server
    srv.now_ms = int(line.split()[1])
    print("ok", flush=True)
"""


def run(symbols, now_ms, opts, cache_dir, rate_ms, label):
    from btcscan.data.market import FetchReport, load_markets

    reports: list[FetchReport] = []
    t0 = time.perf_counter()
    res = load_markets(symbols, cache_dir=cache_dir, now_ms=now_ms, exchange_options=opts,
                       reports=reports)
    wall = time.perf_counter() - t0
    failed = [r for r in res if isinstance(r, Exception)]
    requests = sum(r.requests for r in reports)
    floor = requests * rate_ms / 1000
    ratio = f"{wall / floor:5.2f}x" if floor else "  n/a"
    print(f"{label:<26} {requests:5d} requests ({requests / len(symbols):4.2f}/symbol)  "
          f"wall {wall:6.2f} s  floor {floor:6.2f} s  ratio {ratio}"
          + (f"  FAILED {len(failed)}: {failed[0]}" if failed else ""))
    return wall, requests


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=200)
    ap.add_argument("--rate-limit", type=float, default=50.0, help="ms between requests")
    ap.add_argument("--days", type=int, default=1500, help="history per market, in days")
    a = ap.parse_args()

    from tests.exchange_server import DAY_MS, loopback_options

    now = int(time.time() * 1000)
    child = subprocess.Popen([sys.executable, "-c", SERVER, str(now), str(a.symbols),
                              str(a.days)], cwd=REPO, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        base = child.stdout.readline().strip()
        opts = loopback_options("binance", base, rateLimit=a.rate_limit, timeout=10_000)
        symbols = [f"C{i:03d}/USDT" for i in range(a.symbols)]
        print(f"{a.symbols} markets x {a.days} daily candles, rateLimit {a.rate_limit:g} ms, "
              f"page 1000; the market list counts as one request")
        with tempfile.TemporaryDirectory() as d:
            run(symbols, now, opts, Path(d), a.rate_limit, "cold")
            later = now + DAY_MS
            child.stdin.write(f"now {later}\n")
            child.stdin.flush()
            child.stdout.readline()
            run(symbols, later, opts, Path(d), a.rate_limit, "one new candle each")
            run(symbols, later, opts, Path(d), a.rate_limit, "already current")
    finally:
        child.stdin.close()
        child.wait(10)


if __name__ == "__main__":
    main()
