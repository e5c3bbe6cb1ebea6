"""``btcscan stats`` and the scan's stats lines, end to end on the bundled sample: JSON
validated against the shipped schemas, figures recomputed from the events in the document
and from the candles read with the csv module, pooled rows, --asof, --chart."""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime

import jsonschema
import pytest
from click.testing import CliRunner

from btcscan.cli import cli
from btcscan.patterns import PatternParams, detect_patterns
from btcscan.render.serial import schema
from btcscan.render.stats import stats_schema
from tests.test_stats import naive_rows, naive_stats

WIDE = {"COLUMNS": "220"}


def invoke(*args: str):
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False, env=WIDE)
    assert res.exit_code == 0, res.output
    return res


def stats_json(*args: str) -> dict:
    doc = json.loads(invoke("stats", "--sample", *args, "--format", "json").stdout)
    v = jsonschema.Draft202012Validator(stats_schema())
    v.check_schema(stats_schema())
    v.validate(doc)
    return doc


@pytest.fixture(scope="module")
def daily_doc():
    return stats_json("-t", "1d")


def test_daily_json_matches_naive_recomputation(daily_doc, btc_daily):
    (s,) = daily_doc["series"]
    assert s["horizon_bars"] == 90 and s["candles"] == btc_daily["close"].size
    h, lo, c = btc_daily["high"], btc_daily["low"], btc_daily["close"]
    report = detect_patterns(btc_daily, PatternParams(include_hidden=True))
    want = naive_stats(naive_rows(report, h, lo, c), h, lo, c, 90)
    got = {k["kind"]: k for k in s["kinds"]}
    assert set(got) == set(want)
    for kind, w in want.items():
        k = got[kind]
        assert (k["events"], k["open"], k["reached_first_target"], k["invalidated"],
                k["failed"]) == (w["events"], w["open"], w["reached"], w["invalidated"],
                                 w["failed"]), kind


def test_every_figure_follows_from_the_events_in_the_document(daily_doc):
    """An auditor's check: each kind's figures recomputed from the scored events listed."""
    (s,) = daily_doc["series"]
    for k in s["kinds"]:
        ev = [e for e in s["events"] if e["kind"] == k["kind"]]
        done = [e for e in ev if e["outcome"] != "open"]
        assert k["events"] == len(ev) and k["open"] == len(ev) - len(done)
        assert k["failed"] == sum(e["failed"] for e in done)
        assert k["median_mae_pct"] == pytest.approx(statistics.median(e["mae_pct"] for e in done))
        hits = [e["bars_to_outcome"] for e in done if e["outcome"] == "reached_target"]
        assert k["median_bars_to_target"] == (statistics.median(hits) if hits else None)
        for e in ev:
            assert e["known_at_bar"] < s["candles"]
            if e["outcome_bar"] is not None:
                assert e["outcome_bar"] > e["known_at_bar"]
                assert e["outcome_bar"] - e["known_at_bar"] <= s["horizon_bars"]


def _first_touch(rows, after: str, level: float, side: str):
    for r in rows:
        if r["t"].date().isoformat() > after and (
                r["high"] >= level if side == "high" else r["low"] <= level):
            return r["t"].date().isoformat()
    return None


def test_april_2025_falling_wedge_breakout_against_the_csv(daily_doc, btc_rows):
    """The 2025-04-21 breakout (entry = that close) scored by hand from the original CSV:
    the first later days whose high reaches each target, with no low at the invalidation
    before them."""
    (s,) = daily_doc["series"]
    (e,) = [e for e in s["events"] if e["kind"] == "wedge_falling_broke_up"
            and e["known_at"].startswith("2025-04-21")]
    day = {r["t"].date().isoformat(): r for r in btc_rows}
    assert e["entry"] == day["2025-04-21"]["close"]
    assert e["direction"] == "long"
    for t in e["targets"]:
        hit = _first_touch(btc_rows, "2025-04-21", t["price"], "high")
        inv = _first_touch(btc_rows, "2025-04-21", e["invalidation"], "low")
        assert hit is not None and (inv is None or inv > hit)
        days = (datetime.fromisoformat(hit) - datetime(2025, 4, 21)).days
        assert t["bars_to_reach"] == days, t["rule"]
    assert e["outcome"] == "reached_target"
    assert [t["rule"] for t in e["targets"]] == ["pattern extreme", "measured move"]


def test_table_shows_kinds_sources_rules_and_bulkowski(daily_doc):
    out = invoke("stats", "--sample", "-t", "1d").stdout
    assert "BTC/USD 1d:" in out and "horizon 90 candles" in out
    assert "source: btcscan walk-forward on BTC/USD daily since 2011-08-18" in out
    for k in daily_doc["series"][0]["kinds"]:
        assert k["label"] in out
    assert ("rising wedge, downward breakout: break-even failure 51%, target met 32% "
            "(Bulkowski, US stocks, site figures updated 2020)") in out
    assert "target and invalidation on one candle count as invalidation" in out


def test_pooled_over_a_watchlist():
    doc = stats_json("BTC/USD", "ETH/USDT", "SOL/USDT", "-t", "1d")
    assert [s["symbol"] for s in doc["series"]] == ["BTC/USD", "ETH/USDT", "SOL/USDT"]
    pooled = {k["kind"]: k for k in doc["pooled"]}
    for kind, k in pooled.items():
        per = [x for s in doc["series"] for x in s["kinds"] if x["kind"] == kind]
        assert k["markets"] == len(per)
        for f in ("events", "open", "reached_first_target", "invalidated", "expired", "failed"):
            assert k[f] == sum(x[f] for x in per), (kind, f)
        done = [e for s in doc["series"] for e in s["events"]
                if e["kind"] == kind and e["outcome"] != "open"]
        if done:
            assert k["median_mae_pct"] == pytest.approx(
                statistics.median(e["mae_pct"] for e in done))
    out = invoke("stats", "--sample", "BTC/USD", "ETH/USDT", "SOL/USDT", "-t", "1d").stdout
    assert "Pooled over 3 markets (BTC/USD, ETH/USDT, SOL/USDT)" in out
    assert "ETH/USDT 1d:" in out and "SOL/USDT 1d:" in out


def test_asof_replays_only_the_past(daily_doc):
    doc = stats_json("-t", "1d", "--asof", "2020-12-31")
    (s,) = doc["series"]
    cut = datetime(2021, 1, 1, tzinfo=UTC).timestamp() * 1000
    assert s["last_ms"] < cut
    full = {(e["kind"], e["known_at_ms"]): e for e in daily_doc["series"][0]["events"]}
    for e in s["events"]:
        assert e["known_at_ms"] < cut
        f = full[(e["kind"], e["known_at_ms"])]
        assert (e["entry"], e["invalidation"]) == (f["entry"], f["invalidation"])
        if e["outcome"] != "open":  # resolved by then: the same outcome with more history
            assert (e["outcome"], e["bars_to_outcome"], e["failed"]) == (
                f["outcome"], f["bars_to_outcome"], f["failed"])
    assert any(e["outcome"] == "open" for e in s["events"])
    assert len(s["events"]) == sum(1 for e in full.values() if e["known_at_ms"] < cut)


def test_scan_shows_the_stats_line_of_an_active_signal():
    args = ("scan", "--sample", "-t", "1d", "--asof", "2025-04-25")
    doc = json.loads(invoke(*args, "--format", "json").stdout)
    v = jsonschema.Draft202012Validator(schema())
    v.validate(doc)
    st = doc["series"][0]["stats"]
    (line,) = [ln for ln in st["lines"] if ln["signal_kind"] == "wedge-breakout"]
    assert line["stat_kind"] == "wedge_falling_broke_up"
    assert line["source"] == "btcscan walk-forward on BTC/USD daily since 2011-08-18"
    assert line["bulkowski"]["source"] == "Bulkowski, US stocks, site figures updated 2020"
    # the same figures as `btcscan stats` at the same date
    ref = stats_json("-t", "1d", "--asof", "2025-04-25")["series"][0]
    (k,) = [k for k in ref["kinds"] if k["kind"] == "wedge_falling_broke_up"]
    for f in ("events", "open", "resolved", "reached_first_target", "failed"):
        assert line["walk_forward"][f] == k[f]
    assert line["walk_forward"]["open"] >= 1  # the breakout itself is still open then
    out = invoke(*args).stdout
    assert "How these signals did before" in out
    assert "wedge-breakout: daily falling-wedge breakouts (up) on BTC/USD since 2011:" in out
    assert "published: falling wedge, upward breakout: break-even failure 26%" in out


def test_chart_marks_past_events(tmp_path, daily_doc):
    from btcscan import api
    from btcscan.data.sample import load_sample
    from btcscan.render.chart import build_figure
    from btcscan.stats.run import stats_candles

    c = load_sample("BTC/USD")
    r = api.scan_candles([c], timeframe="1w").series[0]
    s = stats_candles([c], timeframe="1w").series[0]
    fig = build_figure(c, r, bars=r.candles, past_events=s.events)
    marks = [a for a in fig.axes[0].collections if str(a.get_gid()).startswith("past-")]
    assert sum(len(m.get_offsets()) for m in marks) == len(s.events)
    by_gid = {m.get_gid(): len(m.get_offsets()) for m in marks}
    for (outcome, direction) in {(e.outcome, e.direction) for e in s.events}:
        assert by_gid[f"past-{outcome}-{direction}"] == sum(
            e.outcome == outcome and e.direction == direction for e in s.events)
    png = tmp_path / "stats.png"
    res = CliRunner().invoke(cli, ["stats", "--sample", "--chart", str(png)],
                             catch_exceptions=False)
    assert res.exit_code == 0 and png.stat().st_size > 10_000


def test_errors_are_one_line():
    res = CliRunner().invoke(cli, ["stats"], catch_exceptions=False)
    assert res.exit_code == 2 and res.stderr.count("\n") == 1
    assert "nothing to scan" in res.stderr
    res = CliRunner().invoke(cli, ["stats", "--sample", "--horizon", "0"],
                             catch_exceptions=False)
    assert res.exit_code == 2
    res = CliRunner().invoke(cli, ["stats", "--sample", "--asof", "2001-01-01"],
                             catch_exceptions=False)
    assert res.exit_code == 4 and "outside the data" in res.stderr


@pytest.fixture
def exchange_config(server, binance, tmp_path):
    """The loopback exchange on the real clock, and a config pointing binance at it (as in
    tests/test_fetch_cli.py)."""
    import time

    from tests.test_config import toml_table

    server.now_ms = int(time.time() * 1000)
    p = tmp_path / "config.toml"
    p.write_text(toml_table({"timeout": 1000, "rateLimit": 0, "urls": binance["urls"]},
                            "exchanges.binance"))
    return p


def test_live_markets_through_the_loopback_exchange(exchange_config, tmp_path):
    """`stats SYMBOL... --exchange` fetches through the cache like scan; a bad symbol is a
    partial failure (exit 9) listed in the JSON, the good market is still scored."""
    from btcscan.errors import ExitCode

    res = CliRunner().invoke(cli, ["stats", "BTC/USDT", "NOPE/USDT", "-t", "1d", "--config",
                                   str(exchange_config), "--cache-dir", str(tmp_path / "c"),
                                   "--format", "json"], catch_exceptions=False)
    assert res.exit_code == ExitCode.PARTIAL, res.stderr
    doc = json.loads(res.stdout)
    jsonschema.Draft202012Validator(stats_schema()).validate(doc)
    assert [s["symbol"] for s in doc["series"]] == ["BTC/USDT"]
    assert doc["series"][0]["candles"] > 2000
    assert [e["source"] for e in doc["errors"]] == ["binance:NOPE/USDT"]


def test_docs_example_is_real_output():
    """The daily table in docs/stats.md is what the command prints."""
    from tests.conftest import REPO

    text = (REPO / "docs" / "stats.md").read_text()
    head = "$ COLUMNS=180 btcscan stats --sample -t 1d\n"
    block = text[text.index(head) + len(head):]
    block = block[:block.index("```")]
    res = CliRunner().invoke(cli, ["stats", "--sample", "-t", "1d"], catch_exceptions=False,
                             env={"COLUMNS": "180"})
    assert [ln.rstrip() for ln in res.stdout.splitlines()] == block.rstrip("\n").splitlines()


def _measured(events, horizon, candles):
    """The events a test against chance measures, recomputed from the document: horizon
    inside the data, one position at a time."""
    out, last = [], None
    for e in sorted(events, key=lambda e: e["known_at_bar"]):
        b = e["known_at_bar"]
        if b + horizon <= candles - 1 and (last is None or b - last >= horizon):
            out.append(e)
            last = b
    return out


def _holm(ps):
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    adj, run = [0.0] * len(ps), 0.0
    for rank, i in enumerate(order):
        run = max(run, min(1.0, (len(ps) - rank) * ps[i]))
        adj[i] = run
    return adj


def test_against_chance_in_the_json(daily_doc, btc_daily):
    """Each kind's tests: the measured events and their values from the events listed,
    Holm from the p-values listed, the family's count; the table prints them."""
    (s,) = daily_doc["series"]
    h, n, c = s["horizon_bars"], s["candles"], btc_daily["close"]
    tested_kinds = 0
    for k in s["kinds"]:
        assert [t["measure"] for t in k["chance"]] == ["reached_target", "median_return_pct",
                                                      "hit_rate"]
        ev = _measured([e for e in s["events"] if e["kind"] == k["kind"]], h, n)
        d = {"long": 1, "short": -1}
        rets = [d[e["direction"]] * (c[e["known_at_bar"] + h] / c[e["known_at_bar"]] - 1) * 100
                for e in ev]
        want = {"reached_target": 100 * sum(e["outcome"] == "reached_target" for e in ev)
                / len(ev),
                "median_return_pct": statistics.median(rets),
                "hit_rate": 100 * sum(r > 0 for r in rets) / len(rets)}
        for t in k["chance"]:
            assert t["events"] == len(ev), k["kind"]
            assert t["value"] == pytest.approx(want[t["measure"]]), (k["kind"], t["measure"])
            assert t["p_value"] is not None  # every kind with an event is tested
        tested_kinds += 1
    tests = [t for k in s["kinds"] for t in k["chance"] if t["p_value"] is not None]
    fam = s["chance"]
    assert fam["tests"] == len(tests) == 3 * tested_kinds == 3 * len(s["kinds"])
    assert tested_kinds >= 12
    assert fam["correction"] == "Holm (1979)" and fam["shifts"] == 2999
    for t, adj in zip(tests, _holm([t["p_value"] for t in tests]), strict=True):
        assert t["p_holm"] == pytest.approx(adj)
        assert t["verdict"] == ("no edge shown" if adj >= 0.05 else
                                "edge shown" if t["value"] > t["random"] else
                                "worse than random")
    assert fam["significant"] == sum(t["p_holm"] < 0.05 for t in tests)
    out = invoke("stats", "--sample", "-t", "1d").stdout
    assert f"BTC/USD against chance: {fam['tests']} tests, {fam['significant']} significant " \
           "after Holm (1979) at 5%" in out
    assert "2,999 circular shifts (seed 15)" in " ".join(out.split())


def test_pooled_against_chance():
    doc = stats_json("BTC/USD", "ETH/USDT", "SOL/USDT", "-t", "1d")
    per = {}
    for s in doc["series"]:
        for k in s["kinds"]:
            per.setdefault(k["kind"], []).append(k["chance"][0]["events"])
    tested = 0
    for k in doc["pooled"]:
        m = sum(per[k["kind"]])
        assert all(t["events"] == m for t in k["chance"]), k["kind"]
        tested += m >= 1
    fam = doc["pooled_chance"]
    assert fam["tests"] == 3 * tested
    ps = [t["p_value"] for k in doc["pooled"] for t in k["chance"] if t["p_value"] is not None]
    assert [t["p_holm"] for k in doc["pooled"] for t in k["chance"]
            if t["p_value"] is not None] == pytest.approx(_holm(ps))
    out = invoke("stats", "--sample", "BTC/USD", "ETH/USDT", "SOL/USDT", "-t", "1d").stdout
    assert f"Pooled against chance: {fam['tests']} tests" in out


def test_scan_line_against_chance_is_the_tables_test():
    """An active bullish divergence on 2026-03-02: the scan's one line carries the same
    test as `stats` at that date (one test, uncorrected)."""
    args = ("scan", "--sample", "-t", "1d", "--asof", "2026-03-02")
    doc = json.loads(invoke(*args, "--format", "json").stdout)
    jsonschema.Draft202012Validator(schema()).validate(doc)
    (line,) = [ln for ln in doc["series"][0]["stats"]["lines"]
               if ln["stat_kind"] == "divergence_regular_bullish"]
    ref = stats_json("-t", "1d", "--asof", "2026-03-02")["series"][0]
    (k,) = [k for k in ref["kinds"] if k["kind"] == "divergence_regular_bullish"]
    t = k["chance"][0]
    assert t["p_value"] is not None and t["events"] >= 5
    got = line["walk_forward"]["chance"][0]
    assert (got["events"], got["value"], got["random"], got["p_value"]) == (
        t["events"], t["value"], t["random"], t["p_value"])
    assert got["p_holm"] is None  # no table in a scan
    assert line["chance_text"] == (
        f"{t['events']} earlier events on this market (one position at a time): "
        f"{t['value']:.0f}% reached the target vs {t['random']:.0f}% of random entries "
        f"(p {t['p_value']:.2g}: no edge shown)")
    assert f"vs chance: {line['chance_text']}" in " ".join(invoke(*args).stdout.replace(
        "│", " ").split())
