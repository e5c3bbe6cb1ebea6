"""--notify as cron relies on it: apprise json://, form:// and ntfy:// and the JSON webhook,
each pointed at a loopback server that records what it received; and the delivery rules
(outbox written before any send, no redirect followed, non-HTTP replies and bad URLs
refused, broken outbox items quarantined, unwritable state sends nothing, a symlinked state
keeps its link, a kill between send and record costs one duplicate with the same id).

Every case asserts the exit code, the stderr message, that stdout holds only the report,
and the state file afterwards. Signal: the weekly close of 2021-12-13 crossed below SMA 50
(see test_state_notify.py), as of D1; nothing new as of D3.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from click.testing import CliRunner

from btcscan.cli import cli
from btcscan.errors import ExitCode

D1, D2, D3 = "2021-12-19", "2021-12-26", "2022-01-09"
MARKET = "bitstamp:BTC/USD (bundled sample)"
KEY = f"{MARKET}|1w|crossed-below-sma:50|2021-12-13T00:00Z"
KEY2 = f"{MARKET}|1w|crossed-above-sma:50|2021-12-20T00:00Z"
ID = hashlib.sha256(KEY.encode()).hexdigest()[:16]
TITLE = f"btcscan: {MARKET} 1w: 1 signal"


def scan(*args: str):
    return CliRunner().invoke(cli, ["scan", "--sample", *args], catch_exceptions=False)


class Peer:
    """A loopback HTTP server. ``script``: what to do with each request in turn ('ok' = 200,
    'fail' = 500, 'redirect' = 302 to /landed, 'kill' = SIGKILL the ``victim`` process once
    the request is read, before answering); then 'ok'. Records every request, any method."""

    def __init__(self, script=()):
        self.script = list(script)
        self.got: list[dict] = []
        self.victim: subprocess.Popen | None = None
        self.victim_set = threading.Event()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                what = peer.script.pop(0) if peer.script and self.command == "POST" else "ok"
                peer.got.append({"method": self.command, "path": self.path, "raw": raw,
                                 "headers": {k.lower(): v for k, v in self.headers.items()}})
                if what == "kill":
                    peer.victim_set.wait(60)
                    os.kill(peer.victim.pid, signal.SIGKILL)
                    peer.victim.wait(60)
                    return  # the client is gone: nothing to answer
                self.send_response({"ok": 200, "fail": 500, "redirect": 302}[what])
                if what == "redirect":
                    self.send_header("Location", "/landed")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = do_PUT = _any  # noqa: N815 - http.server's names

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def json(self, i: int = -1) -> dict:
        return json.loads(self.got[i]["raw"])

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def peer():
    p = Peer()
    yield p
    p.close()


def not_http_server() -> tuple[int, socket.socket]:
    """A TCP service that answers like sshd, then hangs up."""
    srv = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1], srv


def weekly_sma50(btc_rows, week_open: str) -> tuple[float, float]:
    """(close, SMA 50) of the week opening ``week_open`` from the daily CSV rows: a week's
    close is its last day's close (weeks open Monday 00:00 UTC)."""
    closes: dict = {}
    for r in btc_rows:
        monday = (r["t"] - timedelta(days=r["t"].weekday())).date()
        closes[monday] = r["close"]
    weeks = sorted(w for w in closes if w <= datetime.fromisoformat(week_open).date())
    last50 = [closes[w] for w in weeks[-50:]]
    return closes[weeks[-1]], sum(last50) / 50


def check_schema(doc: dict) -> None:
    """``doc`` is valid against the package's schemas/notify.schema.json."""
    from importlib import resources

    import jsonschema

    jsonschema.validate(doc, json.loads(resources.files("btcscan").joinpath(
        "schemas", "notify.schema.json").read_text(encoding="utf-8")))


def state_doc(path: Path) -> dict:
    return json.loads(path.read_text())


def report_signals(res) -> list[str]:
    """stdout must be exactly one JSON document (the report)."""
    return [s["key"] for s in json.loads(res.stdout)["signals"]]


# --- what each service receives ---------------------------------------------------------

def test_json_form_ntfy_and_webhook_get_title_lines_records_and_ids(tmp_path, peer, btc_rows):
    state = tmp_path / "s.json"
    urls = [f"json://127.0.0.1:{peer.port}/json", f"form://127.0.0.1:{peer.port}/form",
            f"ntfy://127.0.0.1:{peer.port}/btc", f"http://127.0.0.1:{peer.port}/hook"]
    args = ["--new-only", "--state", str(state), "--format", "json"]
    for u in urls:
        args += ["--notify", u]
    res = scan("--asof", D1, *args)
    assert (res.exit_code, res.stderr) == (0, "")
    assert report_signals(res) == [KEY]
    by_path = {g["path"]: g for g in peer.got}
    assert sorted(by_path) == ["/", "/form", "/hook", "/json"] and len(peer.got) == 4
    assert all(g["method"] == "POST" for g in peer.got)

    close, sma = weekly_sma50(btc_rows, "2021-12-13")
    assert close < sma  # the cross this test is about, from the CSV
    first = (f"2021-12-13 UTC crossed-below-sma at {close:,.0f} | level {sma:,.0f} (SMA 50 at "
             f"the 1w close of 2021-12-13) | target none (this signal's rule sets none) | "
             f"invalidation {sma:,.0f} (a 1w close back above SMA 50 at its value at this "
             f"close) | source SMA 50: simple mean of the last 50 weekly closes | id {ID}")
    footer = f"data: {MARKET} 1w candles, scanned as of 2021-12-20T00:00:00Z"
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert f"    {first}\n    {footer}\n" in readme  # the README shows this very message

    j = json.loads(by_path["/json"]["raw"])  # apprise json://: text + the full records
    assert (j["title"], j["message"].splitlines()) == (TITLE, [first, footer])
    assert j["idempotency_key"] == ID == by_path["/json"]["headers"]["idempotency-key"]
    rec = j["signals"][0]
    assert (rec["id"], rec["key"], rec["kind"], rec["timeframe"]) == (
        ID, KEY, "crossed-below-sma", "1w")
    assert rec["level"]["price"] == pytest.approx(sma, rel=1e-9)
    assert rec["invalidation"]["price"] == pytest.approx(sma, rel=1e-9)
    assert rec["price"] == pytest.approx(close) and rec["targets"] == []

    f = {k: v[0] for k, v in parse_qs(by_path["/form"]["raw"].decode()).items()}
    assert (f["title"], f["message"].splitlines()) == (TITLE, [first, footer])
    assert f["idempotency_key"] == f["ids"] == ID
    assert by_path["/form"]["headers"]["idempotency-key"] == ID

    n = json.loads(by_path["/"]["raw"])  # ntfy publishes JSON to the server root
    assert (n["topic"], n["title"], n["message"].splitlines()) == ("btc", TITLE, [first, footer])

    h = json.loads(by_path["/hook"]["raw"])  # the plain webhook: btcscan's own payload
    assert sorted(h) == ["idempotency_key", "schema_version", "signals"]
    assert h["idempotency_key"] == ID == by_path["/hook"]["headers"]["idempotency-key"]
    assert h["signals"] == j["signals"]
    check_schema(h)
    check_schema({k: j[k] for k in ("schema_version", "idempotency_key", "signals")})

    doc = state_doc(state)
    assert (doc["version"], doc["outbox"], doc["quarantine"]) == (2, [], [])
    assert list(doc["reported"]) == [KEY]
    assert str(peer.port) not in state.read_text()  # destinations are hashes, not URLs
    again = scan("--asof", D1, *args)  # nothing new, nothing owed: nothing sent
    assert (again.exit_code, again.stderr, report_signals(again), len(peer.got)) == (
        0, "", [], 4)


def test_one_message_per_market_and_every_signal_line(tmp_path, peer):
    """Two signals of one market in one message; two markets in two messages."""
    res = scan("--asof", D2, "--notify", f"json://127.0.0.1:{peer.port}/", "--format", "json",
               "BTC/USD", "ETH/USDT", "-t", "1w")
    assert res.exit_code == 0, res.stderr
    keys = report_signals(res)
    titles = [peer.json(i)["title"] for i in range(len(peer.got))]
    markets = sorted({k.split("|")[0] for k in keys})
    assert len(peer.got) == len(markets) and len(titles) == len(set(titles))
    for i in range(len(peer.got)):
        body = peer.json(i)
        lines = body["message"].splitlines()
        assert len(lines) == len(body["signals"]) + 1  # one per signal, then the data line
        for line, rec in zip(lines, body["signals"], strict=False):
            assert line.endswith(f"| id {hashlib.sha256(rec['key'].encode()).hexdigest()[:16]}")
            assert rec["market"] in body["title"] and rec["timeframe"] in body["title"]
    assert sorted(r["key"] for i in range(len(peer.got)) for r in peer.json(i)["signals"]) == \
        sorted(keys)


# --- delivery rules ----------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["http", "json"])
def test_a_redirect_is_not_a_delivery(tmp_path, scheme):
    peer = Peer(["redirect"])
    state = tmp_path / "s.json"
    try:
        url = f"{scheme}://127.0.0.1:{peer.port}/hook"
        args = ["--new-only", "--state", str(state), "--notify", url, "--notify-retries", "0",
                "--format", "json"]
        res = scan("--asof", D1, *args)
        assert res.exit_code == ExitCode.NOTIFY
        [line] = res.stderr.splitlines()
        assert line.startswith(f"btcscan: error: --notify {scheme}://127.0.0.1:{peer.port}/")
        assert "302" in line and "delivery failed after 1 attempt(s)" in line
        assert "kept in --state" in line
        assert report_signals(res) == [KEY]
        assert [(g["method"], g["path"]) for g in peer.got] == [("POST", "/hook")]  # no GET
        [item] = state_doc(state)["outbox"]
        assert (item["id"], item["delivered_to"]) == (ID, [])
        # the next run (the peer now answers 200) delivers it, with the same id
        res2 = scan("--asof", D1, *args)
        assert (res2.exit_code, res2.stderr, report_signals(res2)) == (0, "", [])
        assert peer.got[-1]["headers"]["idempotency-key"] == ID
        assert state_doc(state)["outbox"] == []
    finally:
        peer.close()


@pytest.mark.parametrize(("scheme", "code", "said"), [
    ("http", ExitCode.USAGE, "the server did not answer HTTP (BadStatusLine); check the URL"),
    # apprise reports any broken reply as a connection error: a failed delivery
    ("json", ExitCode.NOTIFY, "A Connection error occurred sending JSON notification"),
])
def test_a_reply_that_is_not_http(tmp_path, scheme, code, said):
    port, srv = not_http_server()
    state = tmp_path / "s.json"
    try:
        res = scan("--asof", D1, "--new-only", "--state", str(state), "--notify",
                   f"{scheme}://127.0.0.1:{port}/x", "--notify-retries", "0", "--format", "json")
    finally:
        srv.close()
    assert res.exit_code == code
    [line] = res.stderr.splitlines()
    assert line.startswith("btcscan: error: --notify ") and said in line
    assert report_signals(res) == [KEY]
    doc = state_doc(state)
    assert [(i["id"], i["delivered_to"]) for i in doc["outbox"]] == [(ID, [])]  # kept
    assert list(doc["reported"]) == [KEY]


@pytest.mark.parametrize(("url", "said"), [
    ("foo://bar", "apprise does not know this service or cannot parse the URL"),
    ("tgram://", "apprise does not know this service"),
    ("discord://only-one-part", "apprise does not know this service"),
    ("http://", "it names no host"),
    ("https://user:hunter2@127.0.0.1:99999/secret-path", "its port is not a number"),
    ("hooks.example.com/x", "it has no scheme"),
])
def test_a_bad_url_is_refused_before_the_scan(tmp_path, url, said):
    state = tmp_path / "s.json"
    res = scan("--asof", D1, "--new-only", "--state", str(state), "--notify", url)
    assert res.exit_code == ExitCode.USAGE
    [line] = res.stderr.splitlines()
    assert line.startswith("btcscan: error: --notify ") and said in line
    assert "hunter2" not in line and "secret-path" not in line
    assert res.stdout == "" and not state.exists()  # nothing scanned, nothing recorded


def test_config_notify_urls_no_notify_and_a_bad_config_url(tmp_path, peer):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[notify]\nurls = ["json://127.0.0.1:{peer.port}/cfg"]\nretries = 0\n')
    res = scan("--asof", D1, "--config", str(cfg), "--format", "json")
    assert (res.exit_code, res.stderr, report_signals(res)) == (0, "", [KEY])
    assert [g["path"] for g in peer.got] == ["/cfg"] and peer.json()["signals"][0]["id"] == ID
    off = scan("--asof", D1, "--config", str(cfg), "--no-notify", "--format", "json")
    assert (off.exit_code, report_signals(off), len(peer.got)) == (0, [KEY], 1)
    given = scan("--asof", D1, "--config", str(cfg), "--notify",
                 f"http://127.0.0.1:{peer.port}/flag", "--format", "json")
    assert given.exit_code == 0 and [g["path"] for g in peer.got] == ["/cfg", "/flag"]
    cfg.write_text('[notify]\nurls = ["tgram://"]\n')
    bad = scan("--asof", D1, "--config", str(cfg))
    assert bad.exit_code == ExitCode.CONFIG and bad.stdout == ""
    assert bad.stderr.startswith(f"btcscan: error: {cfg}: notify.urls[0] tgram://…: apprise")
    cfg.write_text('[notify]\nurls = ["json://127.0.0.1/"]\ntimeout = -1\n')
    bad = scan("--asof", D1, "--config", str(cfg))
    assert bad.exit_code == ExitCode.CONFIG and "notify.timeout must be" in bad.stderr


def _good_record(key: str) -> dict:
    return {"market": MARKET, "symbol": "BTC/USD", "timeframe": "1w",
            "kind": "crossed-above-sma", "time": "2021-12-20T00:00:00Z", "price": 50_000.0,
            "detail": "hand-written", "key": key,
            "id": hashlib.sha256(key.encode()).hexdigest()[:16]}


@pytest.mark.parametrize("version", [1, 2])
def test_a_broken_outbox_item_is_quarantined_and_the_others_go(tmp_path, peer, version):
    state = tmp_path / "s.json"
    good = _good_record(KEY2)
    nan = {**_good_record(KEY), "price": float("nan")}
    if version == 1:  # what earlier btcscan wrote: "pending" signal payloads
        doc = {"version": 1, "reported": {}, "pending": [nan, ["not", "a", "record"], good]}
    else:
        doc = {"version": 2, "reported": {}, "quarantine": [], "outbox": [
            {"id": nan["id"], "record": nan, "delivered_to": []},
            {"id": "x", "record": ["not", "a", "record"], "delivered_to": []},
            {"id": good["id"], "record": good, "delivered_to": []}]}
    state.write_text(json.dumps(doc))  # json writes the NaN as NaN, as Python's default does
    args = ["--asof", D3, "--new-only", "--state", str(state), "--notify",
            f"http://127.0.0.1:{peer.port}/hook", "--format", "json"]
    res = scan(*args)
    assert res.exit_code == 0
    lines = res.stderr.splitlines()
    assert len(lines) == 2 and all(ln.startswith(f"btcscan: warning: --state {state}: ")
                                   for ln in lines)
    assert "notification 1 of its outbox cannot be sent (price is nan" in lines[0]
    assert "notification 2 of its outbox cannot be sent (a list, not" in lines[1]
    assert report_signals(res) == []
    assert [r["id"] for r in peer.json()["signals"]] == [good["id"]]
    check_schema(peer.json())  # an older record is completed before it is sent
    assert peer.json()["signals"][0]["level"] is None
    after = state_doc(state)
    assert after["version"] == 2 and after["outbox"] == []
    assert [q["reason"] for q in after["quarantine"]][0].startswith("price is nan")
    assert "NaN" in after["quarantine"][0]["raw"]  # kept as it was, as text
    json.loads(state.read_text(), parse_constant=pytest.fail)  # no NaN outside that text
    again = scan(*args)  # quarantined once: no warning, nothing more to send
    assert (again.exit_code, again.stderr, len(peer.got)) == (0, "", 1)


def test_an_unwritable_state_sends_nothing(tmp_path, peer, monkeypatch):
    """A full disk where the state lives: the outbox cannot be written, so nothing is sent
    (run after run), the report is still printed, and the old state stays as it was."""
    import errno
    import tempfile

    state = tmp_path / "s.json"
    state.write_text('{"version": 2, "reported": {}, "outbox": [], "quarantine": []}\n')
    before = state.read_bytes()
    real = tempfile.mkstemp

    def full_disk(*a, **kw):
        if Path(kw.get("dir", "")) == tmp_path:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*a, **kw)

    monkeypatch.setattr(tempfile, "mkstemp", full_disk)
    for _ in range(2):
        res = scan("--asof", D1, "--new-only", "--state", str(state), "--notify",
                   f"http://127.0.0.1:{peer.port}/hook", "--format", "json")
        assert res.exit_code == ExitCode.CACHE
        assert res.stderr == (f"btcscan: error: cannot write the state file {state}: No space "
                              "left on device; nothing was sent\n")
        assert report_signals(res) == [KEY]
        assert peer.got == [] and state.read_bytes() == before


def test_a_state_under_a_file_sends_nothing(tmp_path, peer):
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    res = scan("--asof", D1, "--new-only", "--state", str(blocker / "s.json"), "--notify",
               f"http://127.0.0.1:{peer.port}/hook", "--format", "json")
    assert res.exit_code == ExitCode.CACHE and res.stdout == ""
    assert res.stderr.startswith("btcscan: error: cannot create the folder of --state ")
    assert peer.got == [] and blocker.read_text() == "x"


def test_a_symlinked_state_updates_its_target(tmp_path, peer):
    real = tmp_path / "real" / "state.json"
    real.parent.mkdir()
    real.write_text('{"version": 2, "reported": {}, "outbox": [], "quarantine": []}\n')
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(Path("real") / "state.json")  # relative, as people write them
    args = ["--new-only", "--state", str(link), "--notify",
            f"http://127.0.0.1:{peer.port}/hook", "--format", "json"]
    r1, r2 = scan("--asof", D1, *args), scan("--asof", D2, *args)
    assert (r1.exit_code, r1.stderr, r2.exit_code, r2.stderr) == (0, "", 0, "")
    assert (report_signals(r1), report_signals(r2)) == ([KEY], [KEY2])
    assert link.is_symlink() and os.readlink(link) == str(Path("real") / "state.json")
    assert sorted(state_doc(real)["reported"]) == sorted([KEY, KEY2])
    assert oct(real.stat().st_mode & 0o777) == oct(0o640)  # permissions kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real"]
    assert sorted(p.name for p in real.parent.iterdir()) == ["state.json", "state.json.lock"]
    assert len(peer.got) == 2


@pytest.mark.parametrize("scheme", ["http", "json"])
def test_kill_between_send_and_record_sends_once_more_with_the_same_id(tmp_path, scheme):
    """The peer has the notification; the sender is killed (SIGKILL) before it could
    record the delivery. The next run sends it again, once, with the same id."""
    peer = Peer(["kill"])
    state = tmp_path / "s.json"
    url = f"{scheme}://127.0.0.1:{peer.port}/hook"
    args = ["--asof", D1, "--new-only", "--state", str(state), "--notify", url,
            "--notify-retries", "0", "--format", "json"]
    try:
        peer.victim = subprocess.Popen([sys.executable, "-m", "btcscan", "scan", "--sample",
                                        *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        peer.victim_set.set()
        out, err = peer.victim.communicate(timeout=300)
        assert peer.victim.returncode == -signal.SIGKILL
        assert err == b""
        assert [s["key"] for s in json.loads(out)["signals"]] == [KEY]  # printed before
        [item] = state_doc(state)["outbox"]  # written before the send, never updated
        assert (item["id"], item["delivered_to"]) == (ID, [])
        again = scan(*args)
        assert (again.exit_code, again.stderr, report_signals(again)) == (0, "", [])
        third = scan(*args)
        assert (third.exit_code, third.stderr, report_signals(third)) == (0, "", [])
    finally:
        peer.close()
    assert len(peer.got) == 2  # the killed run's send and one duplicate, nothing more
    keys = [g["headers"]["idempotency-key"] for g in peer.got]
    ids = [[r["id"] for r in json.loads(g["raw"])["signals"]] for g in peer.got]
    assert keys == [ID, ID] and ids == [[ID], [ID]]
    assert state_doc(state)["outbox"] == [] and list(state_doc(state)["reported"]) == [KEY]


def test_apprise_is_imported_only_for_apprise_urls():
    code = ("import sys, runpy\nsys.argv = ['btcscan', 'scan', '--sample', '--asof', "
            f"'{D1}', '--notify', sys.argv[1], '--notify-retries', '0']\n"
            "try:\n    runpy.run_module('btcscan', run_name='__main__')\nexcept SystemExit as e:"
            "\n    print(e.code, 'apprise' in sys.modules, file=sys.stderr)\n")
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: the delivery fails at once
    got = []
    for url in (f"http://127.0.0.1:{port}/", f"json://127.0.0.1:{port}/"):
        p = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True,
                           timeout=300)
        got.append(p.stderr.strip().splitlines()[-1])
    assert got == ["10 False", "10 True"]


# --- the lines for people, on hand-built wedges and divergences ---------------------------

def test_wedge_and_divergence_lines_name_level_targets_invalidation_and_source():
    from btcscan.alerts.message import line, record, record_problem
    from btcscan.alerts.signals import alerts_of
    from tests.pattern_fakes import KNOWN_CLOSE, divergence, pattern_report, report_with, wedge

    r = report_with(pattern_report(
        last_bar=100, wedges=(wedge("rising", "broke_down", state_at_bar=99),),
        divergences=(divergence("regular_bullish", known_at_bar=100),
                     divergence("hidden_bearish", known_at_bar=98))))
    recs = {a.signal.kind: record(a) for a in alerts_of(r)}
    assert all(record_problem(rec) is None for rec in recs.values())
    # rising wedge: lower line 50,000 at bar 60 -> 62,500 at bar 90, broken at bar 99;
    # touches: 3 on the upper line + 2 on the lower
    brk = line(recs["wedge-breakdown"])
    assert "| level 66,250 (breakdown level: the lower line at the breakdown close) |" in brk
    assert "| target 50,000 (lowest valley of the pattern (Bulkowski)) |" in brk
    assert "| invalidation 67,200 (highest peak of the pattern) |" in brk
    assert "| source wedge detector: rising wedge, lines through 2 pivots, 5 touches" in brk
    bull = line(recs["bullish-divergence"])
    assert KNOWN_CLOSE == 55_500
    # "at" is the close of the candle that made it known; the level is the second pivot's price
    assert " at 55,500 | level 49,000 (price at the second RSI pivot, " in bull
    assert "| target none (this signal's rule sets none) |" in bull
    assert "| invalidation 49,000 (a close below the price at the second pivot) |" in bull
    assert "| source RSI divergence detector: pivots on RSI 14 of 1w closes" in bull
    last = r.last_closed.close
    assert last > 61_000  # the sample's last weekly close is above the hidden bearish pivot
    hid = line(recs["hidden-bearish-divergence"])
    assert (f"| invalidation 61,000 (a close above the price at the second pivot (already "
            f"passed: last 1w close {last:,.0f})) |") in hid
    for rec in recs.values():
        assert line(rec).endswith(f"| id {hashlib.sha256(rec['key'].encode()).hexdigest()[:16]}")
    # a formed falling wedge: its level is the upper line where it became known (bar 90,
    # known_at), the signal's trigger_level: 48,000 there, not its value at the last bar
    formed = report_with(pattern_report(last_bar=100, wedges=(
        wedge("falling", "forming", state_at_bar=90),)))
    rec = record(alerts_of(formed)[0])
    assert rec["kind"] == "wedge-formed"
    assert rec["level"]["price"] == pytest.approx(48_000) == rec["trigger_level"]
    assert "the upper line where the wedge became known" in rec["level"]["rule"]


def test_a_new_signal_that_cannot_be_sent_is_quarantined_not_sent(tmp_path, peer):
    """A record with a NaN (a bug upstream) never reaches a peer and never blocks the
    others: it is put in quarantine with its reason, the good one is delivered."""
    from btcscan.alerts.delivery import run_alerts
    from btcscan.alerts.message import record
    from btcscan.alerts.notify import destinations
    from btcscan.alerts.signals import Alert, Mark
    from btcscan.models import Signal

    t = datetime(2021, 12, 13, tzinfo=UTC)
    bad = Alert(Signal(MARKET, "BTC/USD", "1w", "crossed-below-sma", t, 46_000.0, "d", KEY),
                Mark(float("nan"), "SMA 50"), (), None, "SMA 50", t)
    good = Alert(Signal(MARKET, "BTC/USD", "1w", "crossed-above-sma", t, 50_000.0, "d", KEY2),
                 Mark(49_000.0, "SMA 50"), (), None, "SMA 50", t)
    state, said, shown = tmp_path / "s.json", [], []
    dests = destinations([f"http://127.0.0.1:{peer.port}/hook"])
    signals = (bad.signal, good.signal)
    assert run_alerts(signals, shown.append, state=str(state), new_only=True,
                      destinations=dests, records={a.signal.key: record(a) for a in (bad, good)},
                      warn=said.append) == []
    assert shown == [signals]  # both are reported on stdout
    assert said == [f"--state {state}: signal {KEY} cannot be sent (level.price is nan, not a "
                    "finite number); put in its \"quarantine\" list, the others go on"]
    assert [r["key"] for r in peer.json()["signals"]] == [KEY2]
    doc = state_doc(state)
    assert doc["outbox"] == [] and sorted(doc["reported"]) == sorted([KEY, KEY2])
    assert [q["reason"] for q in doc["quarantine"]] == ["level.price is nan, not a finite number"]


def test_a_failing_destination_never_blocks_the_others_nor_gets_them_twice(tmp_path):
    good, flaky = Peer(), Peer(["fail"])
    state = tmp_path / "s.json"
    args = ["--asof", D1, "--new-only", "--state", str(state), "--notify-retries", "0",
            "--notify", f"json://127.0.0.1:{flaky.port}/a",
            "--notify", f"http://127.0.0.1:{good.port}/b", "--format", "json"]
    try:
        r1 = scan(*args)
        assert r1.exit_code == ExitCode.NOTIFY and report_signals(r1) == [KEY]
        [line] = r1.stderr.splitlines()
        assert line.startswith(f"btcscan: error: --notify json://127.0.0.1:{flaky.port}/a: "
                               "delivery failed after 1 attempt(s) (")
        assert "error=500" in line
        assert line.endswith("kept in --state's outbox, sent again next run")
        assert (len(flaky.got), len(good.got)) == (1, 1)
        [item] = state_doc(state)["outbox"]
        good_id = hashlib.sha256(f"http://127.0.0.1:{good.port}/b".encode()).hexdigest()[:12]
        assert item["delivered_to"] == [good_id]
        r2 = scan(*args)  # only the destination that lacks it gets it
        assert (r2.exit_code, r2.stderr, report_signals(r2)) == (0, "", [])
        assert (len(flaky.got), len(good.got)) == (2, 1)
        assert flaky.json()["signals"][0]["id"] == ID and state_doc(state)["outbox"] == []
    finally:
        good.close()
        flaky.close()


@pytest.mark.parametrize(("args", "said"), [
    (["--notify", " "], "--notify needs a URL (got an empty one)"),
    (["--notify", "json://127.0.0.1/", "--no-notify"], "--no-notify and --notify contradict"),
])
def test_empty_or_contradictory_notify_options_are_usage_errors(tmp_path, args, said):
    res = scan("--asof", D1, "--state", str(tmp_path / "s.json"), *args)
    assert res.exit_code == ExitCode.USAGE and res.stdout == ""
    assert res.stderr.startswith(f"btcscan: error: {said}")
    assert not (tmp_path / "s.json").exists()
