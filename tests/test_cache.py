"""The parquet cache: safe paths, round trip, merge, atomic writes, locks, list and clear."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btcscan.data import cache
from btcscan.data.schema import SCHEMA
from btcscan.errors import CacheError, ExitCode, UsageError

DAY = 86_400_000
T0 = 1_700_006_400_000  # 2023-11-15 00:00 UTC


def frame(start: int, n: int, price: float = 100.0) -> pl.DataFrame:
    t = [T0 + (start + i) * DAY for i in range(n)]
    return pl.DataFrame({"open_time": t, "open": [price] * n, "high": [price + 1] * n,
                         "low": [price - 1] * n, "close": [price] * n, "volume": [1.0] * n},
                        schema={**SCHEMA, "open_time": pl.Int64}).with_columns(
        pl.col("open_time").cast(SCHEMA["open_time"]))


def test_default_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BTCSCAN_CACHE_DIR", str(tmp_path / "x"))
    assert cache.default_cache_dir() == tmp_path / "x"
    monkeypatch.delenv("BTCSCAN_CACHE_DIR")
    d = cache.default_cache_dir()
    assert d.name == "candles" and "btcscan" in str(d)


def test_cache_path_is_readable_and_distinguishes_minutes_from_months(tmp_path):
    p = cache.cache_path(tmp_path, "binance", "BTC/USDT", "1d")
    assert p == tmp_path / "binance" / "BTC%2FUSDT_1d.parquet"
    assert cache.cache_path(tmp_path, "binance", "BTC/USDT", "1m").name != \
        cache.cache_path(tmp_path, "binance", "BTC/USDT", "1M").name.lower()


@pytest.mark.parametrize("symbol", ["../../etc/passwd", "..", ".", "/abs/path", "a\\..\\b",
                                    "BTC/USDT:USDT", "x" * 100, "%2e%2e", "~/.ssh/id"])
def test_a_symbol_never_writes_outside_the_cache(tmp_path, symbol):
    root = tmp_path / "cache"
    p = cache.cache_path(root, "binance", symbol, "1d")
    assert p.parent == root / "binance"
    assert p.resolve().parent == (root / "binance").resolve()
    cache.store(root, "binance", symbol, "1d", frame(0, 2))
    assert [e.symbol for e in cache.list_entries(root)] == [symbol]
    assert {q for q in tmp_path.rglob("*") if q.is_file() and q.suffix == ".parquet"} == {p}


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=60))
def test_any_text_maps_inside_or_is_refused(symbol):
    root = Path("/tmp/btcscan-cache-root")
    try:
        p = cache.cache_path(root, "binance", symbol, "1d")
    except UsageError:
        return
    assert p.parent == root / "binance"
    assert "/" not in p.name and "\\" not in p.name and not p.name.startswith(".")
    assert cache._parse_name(p) == (symbol, "1d")  # reversible: cache list shows the symbol


@pytest.mark.parametrize("exchange", ["../x", "Binance", "", "a/b", ".."])
def test_bad_exchange_ids_are_refused(tmp_path, exchange):
    with pytest.raises(UsageError):
        cache.cache_path(tmp_path, exchange, "BTC/USDT", "1d")


def test_round_trip_and_merge_without_duplicates(tmp_path):
    assert cache.load(tmp_path, "binance", "BTC/USDT", "1d") is None
    cache.store(tmp_path, "binance", "BTC/USDT", "1d", frame(0, 10))
    merged = cache.store(tmp_path, "binance", "BTC/USDT", "1d", frame(8, 5, price=200.0))
    back = cache.load(tmp_path, "binance", "BTC/USDT", "1d")
    assert back.equals(merged)
    t = back["open_time"].dt.epoch("ms").to_list()
    assert t == [T0 + i * DAY for i in range(13)]
    # a cached closed candle is kept over a differing new one (issue 14): only the new
    # open times take the new rows
    assert back["close"].to_list()[7:] == [100.0] * 3 + [200.0] * 3


def test_storing_nothing_new_leaves_the_file_untouched(tmp_path):
    cache.store(tmp_path, "binance", "BTC/USDT", "1d", frame(0, 10))
    p = cache.cache_path(tmp_path, "binance", "BTC/USDT", "1d")
    before, mtime = p.read_bytes(), p.stat().st_mtime_ns
    time.sleep(0.01)
    cache.store(tmp_path, "binance", "BTC/USDT", "1d", frame(3, 4))
    cache.store(tmp_path, "binance", "BTC/USDT", "1d", frame(0, 0))
    assert p.read_bytes() == before and p.stat().st_mtime_ns == mtime


def test_unreadable_file_is_a_cache_error_saying_what_to_do(tmp_path):
    p = cache.cache_path(tmp_path, "binance", "BTC/USDT", "1d")
    p.parent.mkdir(parents=True)
    p.write_bytes(b"PAR1 not really")
    with pytest.raises(CacheError, match="cache clear BTC/USDT --exchange binance") as e:
        cache.load(tmp_path, "binance", "BTC/USDT", "1d")
    assert e.value.exit_code == ExitCode.CACHE == 7
    assert [en.rows for en in cache.list_entries(tmp_path)] == [-1]


def test_held_lock_times_out_as_a_cache_error(tmp_path, monkeypatch):
    from filelock import FileLock

    monkeypatch.setattr(cache, "LOCK_TIMEOUT_S", 0.2)
    p = cache.cache_path(tmp_path, "binance", "BTC/USDT", "1d")
    p.parent.mkdir(parents=True)
    # another process holds it: filelock is re-entrant within one process, so use a child
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from filelock import FileLock
        with FileLock({str(p) + '.lock'!r}):
            print('held', flush=True)
            time.sleep(5)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(CacheError, match="holds the cache lock"):
            cache.store(tmp_path, "binance", "BTC/USDT", "1d", frame(0, 3))
    finally:
        child.kill()
        child.wait()
    assert not p.exists()
    del FileLock


def test_unwritable_directory_is_a_cache_error(tmp_path):
    if os.geteuid() == 0:
        target = Path("/proc/btcscan-cannot-write")  # root can write anywhere else
    else:
        target = tmp_path / "ro"
        target.mkdir()
        target.chmod(0o500)
    with pytest.raises(CacheError, match="choose a writable --cache-dir"):
        cache.store(target, "binance", "BTC/USDT", "1d", frame(0, 3))


def _writer(root: str, start: int) -> None:
    for k in range(5):
        cache.store(Path(root), "binance", "BTC/USDT", "1d", frame(start + k * 10, 10))


def test_two_processes_storing_at_once_merge_everything(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), s)) for s in (0, 1000)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    t = cache.load(tmp_path, "binance", "BTC/USDT", "1d")["open_time"].dt.epoch("ms").to_list()
    assert len(t) == 100 == len(set(t))


# The writer stores a file once, then blocks in its second store at the point given on the
# command line, telling the test so on stdout: the test kills it exactly there (no sleep).
KILL_WRITER = textwrap.dedent("""
    import io, os, sys
    from pathlib import Path
    import polars as pl
    from btcscan.data import cache
    from btcscan.data.schema import SCHEMA
    root, n, point = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    t0 = 1_500_000_000_000 - 1_500_000_000_000 % 60_000
    df = pl.DataFrame({"open_time": pl.int_range(t0, t0 + n * 60_000, 60_000, eager=True),
                       **{c: pl.int_range(1, n + 1, eager=True).cast(pl.Float64)
                          for c in ("open", "high", "low", "close", "volume")}})
    df = df.with_columns(pl.col("open_time").cast(SCHEMA["open_time"]))
    cache.store(root, "binance", "BTC/USDT", "1m", df.head(n - 1))  # the old file

    def wait(where):
        print(where, flush=True)
        sys.stdin.readline()  # never answered: the test kills this process now

    write_parquet, replace = pl.DataFrame.write_parquet, os.replace

    def half_written(self, fh, **kw):  # the new file's first half is on disk, not the rest
        buf = io.BytesIO()
        write_parquet(self, buf, **kw)
        data = buf.getvalue()
        fh.write(data[:len(data) // 2])
        fh.flush()
        wait("mid-write")

    def rename(src, dst):
        if point == "after-rename":
            replace(src, dst)
        wait(point)

    if point == "mid-write":
        pl.DataFrame.write_parquet = half_written
    else:
        os.replace = rename
    cache.store(root, "binance", "BTC/USDT", "1m", df)  # the new file: one more candle
""")


@pytest.mark.parametrize(("point", "rows", "tmp_left"), [
    ("mid-write", 1999, True), ("before-rename", 1999, True), ("after-rename", 2000, False)])
def test_killing_a_writer_leaves_the_old_or_the_new_file_never_a_broken_one(
        tmp_path, point, rows, tmp_left):
    n = 2000
    child = subprocess.Popen([sys.executable, "-c", KILL_WRITER, str(tmp_path), str(n), point],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == point
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert bool(list(tmp_path.glob("binance/.*.tmp"))) == tmp_left
    df = cache.load(tmp_path, "binance", "BTC/USDT", "1m")  # raises if broken
    assert df.height == rows and df["close"].to_list()[-1] == rows
    # a temporary file left by a kill is not a cache entry, and the next store removes it
    assert [e.timeframe for e in cache.list_entries(tmp_path)] == ["1m"]
    cache.store(tmp_path, "binance", "BTC/USDT", "1m", frame(0, 1))
    assert not list((tmp_path / "binance").glob(".*.tmp"))


def test_list_and_clear(tmp_path):
    cache.store(tmp_path, "binance", "BTC/USDT", "1d", frame(0, 10))
    cache.store(tmp_path, "binance", "ETH/USDT", "1d", frame(0, 3))
    cache.store(tmp_path, "kraken", "BTC/USD", "1M", frame(0, 2))
    entries = cache.list_entries(tmp_path)
    assert [(e.exchange, e.symbol, e.timeframe, e.rows) for e in entries] == [
        ("binance", "BTC/USDT", "1d", 10), ("binance", "ETH/USDT", "1d", 3),
        ("kraken", "BTC/USD", "1M", 2)]
    assert entries[0].first_ms == T0 and entries[0].last_ms == T0 + 9 * DAY
    assert cache.clear(tmp_path, "ETH/USDT") == [entries[1].path]
    assert [e.symbol for e in cache.list_entries(tmp_path)] == ["BTC/USDT", "BTC/USD"]
    assert len(cache.clear(tmp_path)) == 2
    assert cache.list_entries(tmp_path) == []
