"""--fail-on pattern conditions on the sample with the real engine: on the candle where the
engine's full-history lists say a wedge broke or a divergence became known, the condition
holds (exit 3); on the candle before, it does not (exit 0)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from btcscan.api import parse_asof
from btcscan.cli import cli
from btcscan.data.resample import resample
from btcscan.data.sample import load_sample
from btcscan.errors import ExitCode
from btcscan.patterns import detect_patterns
from btcscan.timeframes import parse_timeframe

CONDITION = {"broke_up": "wedge-breakout", "broke_down": "wedge-breakdown",
             "regular_bearish": "bearish-divergence", "regular_bullish": "bullish-divergence"}


def _cases(tf: str) -> list[tuple]:
    """(condition, bar, open times, all bars of that kind) for the last two events of each
    kind over the whole history."""
    a = resample(load_sample(), parse_timeframe(tf), parse_asof("2026-04-18")).arrays()
    p = detect_patterns(a)
    events = [(w.state, w.state_at_bar) for w in p.wedges if w.state in ("broke_up", "broke_down")]
    events += [(d.kind, d.known_at_bar) for d in p.divergences if d.kind.startswith("regular")]
    out = []
    for kind in CONDITION:
        bars = sorted({b for k, b in events if k == kind})
        out += [(CONDITION[kind], b, a["open_time"], bars) for b in bars[-2:]]
    return out


def _day_closing(open_ms: int, tf: str) -> str:
    """The asof date whose end is the close of the candle opening at ``open_ms``."""
    end = parse_timeframe(tf).period_end_ms(int(open_ms))
    return (datetime.fromtimestamp(end / 1000, tz=UTC) - timedelta(days=1)).date().isoformat()


@pytest.mark.parametrize("tf", ["1d", "1w"])
def test_pattern_conditions_hold_on_their_candle_only(tf):
    cases = _cases(tf)
    assert cases, "the engine found no event on the sample"
    for cond, bar, open_time, bars in cases:
        res = CliRunner().invoke(cli, ["scan", "--sample", "-t", tf, "--asof",
                                       _day_closing(open_time[bar], tf), "--fail-on", cond],
                                 catch_exceptions=False)
        assert res.exit_code == ExitCode.CONDITION_MET, (cond, bar, res.stderr)
        if bar - 1 not in bars:
            before = CliRunner().invoke(cli, ["scan", "--sample", "-t", tf, "--asof",
                                              _day_closing(open_time[bar - 1], tf), "--fail-on",
                                              cond], catch_exceptions=False)
            assert before.exit_code == ExitCode.OK, (cond, bar)
