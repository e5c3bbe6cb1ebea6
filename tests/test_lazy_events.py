"""PatternReport.events is built on first read (issue #6: a summary table never reads the
texts of past events); once read it must be exactly what an eager build gives, through
pickling and the JSON view too."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from btcscan.patterns import PatternParams, detect_patterns
from btcscan.patterns.divergences import divergence_event
from btcscan.patterns.engine import _event_key
from btcscan.patterns.types import Deferred, PatternReport
from btcscan.patterns.wedges import wedge_events
from btcscan.render.serial import to_jsonable


def _eager(report: PatternReport, close) -> tuple:
    events = [e for w in report.wedges for e in wedge_events(w, close)]
    events += [divergence_event(d) for d in report.divergences]
    return tuple(sorted(events, key=_event_key))


def _unbuilt(report: PatternReport) -> bool:
    return type(report.__dict__["_lazy_events"]) is Deferred


@pytest.mark.parametrize("hidden", [False, True])
def test_events_are_built_on_first_read_and_equal_an_eager_build(btc_daily, hidden):
    report = detect_patterns(btc_daily, PatternParams(include_hidden=hidden))
    assert _unbuilt(report)
    want = _eager(report, btc_daily["close"])
    assert len(want) > 50  # wedges (formed, broke) and divergences over 15 years
    assert report.events == want
    assert not _unbuilt(report)
    assert report.events is report.events  # built once


def test_pickled_before_reading_gives_the_same_events_and_json(btc_daily):
    fresh = detect_patterns(btc_daily, PatternParams(include_hidden=True))
    copy = pickle.loads(pickle.dumps(fresh))
    assert _unbuilt(copy)
    assert to_jsonable(copy) == to_jsonable(detect_patterns(btc_daily,
                                                            PatternParams(include_hidden=True)))
    assert copy == fresh and hash(copy) == hash(fresh)


def test_events_stay_a_frozen_required_field(btc_daily):
    report = detect_patterns(btc_daily)
    assert "events" in [f.name for f in dataclasses.fields(report)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.events = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        PatternReport((), ())  # type: ignore[call-arg]
    plain = PatternReport((), (), (), (), 1.0, 0, 0)
    assert plain.events == () and dataclasses.replace(plain, last_bar=1).events == ()


def test_history_is_built_on_first_read_and_holds_the_active_ones(btc_daily):
    """The wedges and divergences of history are built when read (a summary table reads
    only the active ones); the active ones are the same objects in the history."""
    report = detect_patterns(btc_daily, PatternParams(include_hidden=True, recent_bars=400))
    assert type(report.__dict__["_lazy_wedges"]) is Deferred
    assert type(report.__dict__["_lazy_divergences"]) is Deferred
    assert report.active_wedges and report.active_divergences
    assert len(report.wedges) > len(report.active_wedges)
    assert all(any(w is x for x in report.wedges) for w in report.active_wedges)
    assert all(any(d is x for x in report.divergences) for d in report.active_divergences)
    assert report.wedges is report.wedges and report.divergences is report.divergences


def test_the_summary_path_builds_no_history():
    from btcscan import api
    from btcscan.alerts.signals import alerts_of
    from btcscan.data.sample import load_sample
    from btcscan.settings import ScanSettings
    from btcscan.timeframes import parse_timeframe

    r = api.scan_one(load_sample("BTC/USD"), parse_timeframe("1d"), None,
                     ScanSettings(timeframe="1d"), detail=False)
    alerts_of(r)
    for name in ("events", "wedges", "divergences"):
        assert type(r.patterns.__dict__[f"_lazy_{name}"]) is Deferred, name
