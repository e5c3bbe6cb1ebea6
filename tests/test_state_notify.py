"""Cron: --new-only with --state (twice = nothing new; a new candle = new signals again),
--quiet, atomic and locked state, --notify against a loopback server that fails, stalls
past the timeout and recovers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from btcscan.alerts import notify
from btcscan.alerts.state import locked_state
from btcscan.cli import cli
from btcscan.errors import CacheError, ExitCode, NotifyError

# Weekly SMA 50 crosses checked by hand in shared/data/btcusd_1d.csv: the week of
# 2021-12-13 closed below it (scan as of 2021-12-19), the week of 2021-12-20 back above
# (as of 2021-12-26); nothing crossed in the week of 2022-01-03 (as of 2022-01-09).
D1, D2, D3 = "2021-12-19", "2021-12-26", "2022-01-09"


def scan(*args: str):
    return CliRunner().invoke(cli, ["scan", "--sample", *args], catch_exceptions=False)


def kinds(res) -> list[tuple[str, str]]:
    return [(s["kind"], s["time"][:10]) for s in json.loads(res.stdout)["signals"]]


def test_new_only_twice_then_a_new_candle(tmp_path):
    state = str(tmp_path / "state.json")
    args = ("--new-only", "--state", state, "--format", "json")
    first = scan("--asof", D1, *args)
    assert first.exit_code == 0
    assert kinds(first) == [("crossed-below-sma", "2021-12-13")]
    assert json.loads(first.stdout)["new_only"] is True
    assert kinds(scan("--asof", D1, *args)) == []  # reported before
    assert kinds(scan("--asof", D2, *args)) == [("crossed-above-sma", "2021-12-20")]
    assert kinds(scan("--asof", D2, *args)) == []
    assert kinds(scan("--asof", D3, *args)) == []  # nothing happened that week
    doc = json.loads(Path(state).read_text())
    assert sorted(doc["reported"]) == sorted([
        "bitstamp:BTC/USD (bundled sample)|1w|crossed-below-sma:50|2021-12-13T00:00Z",
        "bitstamp:BTC/USD (bundled sample)|1w|crossed-above-sma:50|2021-12-20T00:00Z"])
    assert doc["outbox"] == [] and doc["version"] == 2


def test_new_candle_appended_to_a_file(tmp_path, btc_rows):
    """The cron case for real: the same command, the file grows by a week of candles."""
    from tests.conftest import write_csv

    def upto(day: str) -> list[list]:
        return [[int(r["t"].timestamp() * 1000), r["open"], r["high"], r["low"], r["close"],
                 r["volume"]] for r in btc_rows if r["t"].date().isoformat() <= day]

    header = ["timestamp", "open", "high", "low", "close", "volume"]
    data = tmp_path / "btcusd.csv"
    cmd = ["scan", "--from-file", str(data), "--new-only", "--state", str(tmp_path / "s.json"),
           "--quiet", "--format", "csv"]
    write_csv(data, header, upto(D1))
    out1 = CliRunner().invoke(cli, cmd, catch_exceptions=False)
    assert out1.stdout.splitlines()[1].split(",")[4:6] == ["crossed-below-sma",
                                                          "2021-12-13T00:00:00Z"]
    again = CliRunner().invoke(cli, cmd, catch_exceptions=False)
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")  # --quiet: silent
    write_csv(data, header, upto(D2))
    out3 = CliRunner().invoke(cli, cmd, catch_exceptions=False)
    assert [ln.split(",")[4] for ln in out3.stdout.splitlines()[1:]] == ["crossed-above-sma"]


def test_quiet_without_new_only_prints_when_there_are_signals():
    assert scan("--asof", D3, "--quiet").stdout == ""
    assert "crossed-below-sma" in scan("--asof", D1, "--quiet").stdout


def test_new_only_needs_state():
    res = scan("--new-only")
    assert res.exit_code == ExitCode.USAGE and "--state" in res.stderr


# --- state file -----------------------------------------------------------------------------

def test_state_is_atomic_and_an_exception_keeps_the_old_file(tmp_path):
    p = tmp_path / "s.json"
    with locked_state(p) as st:
        st.reported["a"] = "t"
    before = p.read_text()
    with pytest.raises(RuntimeError), locked_state(p) as st:
        st.reported["b"] = "t"
        raise RuntimeError("crash mid-run")
    assert p.read_text() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["s.json", "s.json.lock"]


def test_unreadable_state_is_a_cache_error(tmp_path):
    p = tmp_path / "s.json"
    p.write_text("{not json")
    with pytest.raises(CacheError, match="unreadable"), locked_state(p):
        pass
    res = scan("--new-only", "--state", str(p))
    assert res.exit_code == ExitCode.CACHE


_WORKER = """
import sys
from btcscan.alerts.state import locked_state
for i in range(25):
    with locked_state(sys.argv[1]) as st:
        n = len(st.reported)
        st.reported[f"{sys.argv[2]}-{i}"] = str(n)
"""


def test_two_runs_at_once_lose_nothing(tmp_path):
    p = str(tmp_path / "s.json")
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, p, name]) for name in "ab"]
    assert [pr.wait(timeout=120) for pr in procs] == [0, 0]
    doc = json.loads(Path(p).read_text())
    assert len(doc["reported"]) == 50
    # every read-modify-write saw all the writes before it: the counts are 0..49 once each
    assert sorted(int(v) for v in doc["reported"].values()) == list(range(50))


# --- webhook --------------------------------------------------------------------------------

class Hook:
    """A loopback webhook whose behaviour per request is scripted: 'ok', 'fail' (HTTP 500),
    'stall' (answers after ``stall_s``), 'reject' (HTTP 400)."""

    def __init__(self, script: list[str], stall_s: float = 1.5):
        self.script = list(script)
        self.stall = threading.Event()
        self.stall_s = stall_s
        self.bodies: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                what = hook.script.pop(0) if hook.script else "ok"
                hook.bodies.append({"what": what, "body": body,
                                    "type": self.headers["Content-Type"]})
                if what == "stall":
                    hook.stall.wait(hook.stall_s)
                code = {"ok": 204, "fail": 500, "stall": 204, "reject": 400}[what]
                self.send_response(code)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self):
        self.stall.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def waits(monkeypatch):
    got: list[float] = []
    monkeypatch.setattr(notify, "_sleep", got.append)
    return got


def test_notify_fails_times_out_and_recovers_without_losing_state(tmp_path, waits):
    state = tmp_path / "s.json"
    hook = Hook(["fail", "stall", "fail", "fail"])
    try:
        common = ["--new-only", "--state", str(state), "--notify", hook.url,
                  "--notify-timeout", "0.3", "--notify-retries", "1", "--format", "json"]
        # run 1: 500, then a stall past the 0.3 s timeout -> exit 10, signal kept pending
        r1 = scan("--asof", D1, *common)
        assert r1.exit_code == ExitCode.NOTIFY
        assert "delivery failed after 2 attempt(s)" in r1.stderr and "no answer" in r1.stderr
        assert kinds(r1) == [("crossed-below-sma", "2021-12-13")]  # the report still printed
        assert waits == [1.0]  # one backoff between the two attempts
        doc = json.loads(state.read_text())
        assert [p["record"]["kind"] for p in doc["outbox"]] == ["crossed-below-sma"]
        assert doc["outbox"][0]["delivered_to"] == []
        assert len(doc["reported"]) == 1
        # run 2, a week later: two more 500s -> still pending, now both weeks' signals
        r2 = scan("--asof", D2, *common)
        assert r2.exit_code == ExitCode.NOTIFY
        assert kinds(r2) == [("crossed-above-sma", "2021-12-20")]  # only the new one printed
        pend = json.loads(state.read_text())["outbox"]
        assert [p["record"]["kind"] for p in pend] == ["crossed-below-sma", "crossed-above-sma"]
        # run 3: the hook recovered -> one POST with both, pending cleared, exit 0
        r3 = scan("--asof", D2, *common)
        assert r3.exit_code == 0, r3.stderr
        assert kinds(r3) == []
        sent = hook.bodies[-1]
        assert sent["what"] == "ok" and sent["type"] == "application/json"
        assert [s["kind"] for s in sent["body"]["signals"]] == ["crossed-below-sma",
                                                                "crossed-above-sma"]
        assert json.loads(state.read_text())["outbox"] == []
        # run 4: nothing new and nothing pending -> no POST at all
        n = len(hook.bodies)
        assert scan("--asof", D2, *common).exit_code == 0
        assert len(hook.bodies) == n
    finally:
        hook.close()


def test_post_json_retries_then_gives_up_and_does_not_retry_4xx(waits):
    hook = Hook(["fail", "fail", "fail", "reject"])
    try:
        with pytest.raises(NotifyError, match="HTTP 500"):
            notify.post_json(hook.url, {"x": 1}, timeout=2, retries=2, backoff=0.5)
        assert waits == [0.5, 1.0]
        with pytest.raises(NotifyError, match="after 1 attempt.*HTTP 400"):
            notify.post_json(hook.url, {"x": 1}, timeout=2, retries=3)
        assert notify.post_json(hook.url, {"x": 2}, timeout=2, retries=0) == 204
        assert [b["body"] for b in hook.bodies] == [{"x": 1}] * 4 + [{"x": 2}]
    finally:
        hook.close()


def test_notify_without_state_posts_every_signal_and_refused_connection_is_exit_10(waits):
    hook = Hook([])
    try:
        assert scan("--asof", D1, "--notify", hook.url).exit_code == 0
        assert [s["kind"] for s in hook.bodies[0]["body"]["signals"]] == ["crossed-below-sma"]
        assert hook.bodies[0]["body"]["schema_version"] == "1.3"
    finally:
        hook.close()
    res = scan("--asof", D1, "--notify", hook.url, "--notify-retries", "0")
    assert res.exit_code == ExitCode.NOTIFY and "ConnectionRefusedError" in res.stderr


def test_failed_delivery_wins_over_a_condition_but_both_are_said(tmp_path, waits):
    hook = Hook(["fail"])
    try:
        res = scan("--asof", D1, "--fail-on", "crossed-below-sma:50", "--notify", hook.url,
                   "--notify-retries", "0", "--state", str(tmp_path / "s.json"))
        assert res.exit_code == ExitCode.NOTIFY
        assert "HOLDS  crossed-below-sma:50" in res.stdout  # said once: in the table
        assert "HTTP 500" in res.stderr and "kept in --state" in res.stderr
    finally:
        hook.close()
