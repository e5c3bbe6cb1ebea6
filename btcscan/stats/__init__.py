"""Walk-forward hit rates: every past pattern event scored by what happened next (issue #7).

The pattern engine is causal (each event is knowable at its ``known_at`` bar from candles up
to that bar), so one run over the full history lists every event a trader could have acted
on; :mod:`btcscan.stats.rules` turns each into a scorable row (direction, entry bar, targets
with their rule, invalidation), :func:`btcscan.kernels.outcomes.score_events` scores them
reading only later candles, :mod:`btcscan.stats.compute` aggregates per kind of event, and
:mod:`btcscan.stats.chance` sets each kind's record beside random entries (issue #15).
Rules are stated in the module docstrings and in ``docs/stats.md``.
"""

from __future__ import annotations
