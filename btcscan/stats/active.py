"""Which stats lines a scanned series needs: the stat kind of each active signal (a wedge
break, a divergence, an SMA cross). Imports nothing of the scoring machinery, so a scan
with no active signal never loads it (:func:`btcscan.stats.run.scan_signal_stats`)."""

from __future__ import annotations

from collections.abc import Iterable

#: divergence kinds -> scan signal kinds
SIGNAL_OF_DIVERGENCE = {"regular_bearish": "bearish-divergence",
                        "regular_bullish": "bullish-divergence",
                        "hidden_bearish": "hidden-bearish-divergence",
                        "hidden_bullish": "hidden-bullish-divergence"}


def active_signal_kinds(patterns, smas: Iterable) -> list[tuple[str, str]]:
    """(signal kind, stat kind) of each active signal: ``patterns``' active wedge breaks and
    divergences, then the SMA crosses among ``smas`` (the scan's SMA states)."""
    kinds: list[tuple[str, str]] = []
    for w in patterns.active_wedges:
        if w.state in ("broke_up", "broke_down"):
            sig = "wedge-breakout" if w.state == "broke_up" else "wedge-breakdown"
            kinds.append((sig, f"wedge_{w.kind}_{w.state}"))
    for d in patterns.active_divergences:
        kinds.append((SIGNAL_OF_DIVERGENCE[d.kind], f"divergence_{d.kind}"))
    for st in smas:
        if st.state in ("crossed_below", "crossed_above"):
            sig = f"{st.state.replace('_', '-')}-sma:{st.period}"
            what = "break" if st.state == "crossed_below" else "reclaim"
            kinds.append((sig, f"sma{st.period}_{what}"))
    return kinds
