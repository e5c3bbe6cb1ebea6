"""Each kind's record against chance: the same measure for random entries on the same series
and direction, a circular-shift p-value, and Holm's correction over a table (issue #15).

**Measures**, over the events whose horizon lies inside the data (entry bar + ``horizon`` <=
last bar; the others cannot be measured yet), one position at a time: an event less than
``horizon`` candles after a measured one of the same kind is not measured (its window
overlaps, and whether it happens depends on the path inside the earlier one's window: on
100 random walks, counting such repeats put 12 of 100 SMA-100 median-return tests below
p 0.05, where about 5 are expected):

* ``reached_target``: share of events that reached their first target (the kernel's outcome,
  :mod:`btcscan.kernels.outcomes`);
* ``median_return_pct``: median return ``horizon`` candles after the entry, close to close,
  in the signal's direction (a short gains when the price falls);
* ``hit_rate``: share of events with that return above zero.

**Random entries**: the kind's events shifted together by one offset ``u``, circularly over
the measurable entries ``0 .. L-1`` (``L`` = candles - horizon): bar ``b`` -> ``(b + u) mod
L``. A shift keeps how many events there are, how they cluster in time and their direction,
and puts each at another entry of the same series with the same target and invalidation in
percent of the entry (the kernel rescores it there). ``random`` is the mean of the measure
over :data:`SHIFTS` shifts drawn with the fixed seed :data:`SEED` (reproducible: the same
offsets for every series and kind, taken modulo each series' ``L``). The p-value is
two-sided, ``min(1, 2 min(P(T >= t), P(T <= t)))`` with ``P`` counted over the observed
value and the shifts (``(1 + count) / (1 + SHIFTS)``): it is never below ``2 / (1 + SHIFTS)``.

**Pooled** over markets: every market's events together; one offset shifts every market
(modulo its own ``L``), so events that coincide across markets mostly stay together.

**Correction**: Holm (1979) over the tests of one table (a market's, or the pooled one):
every kind with at least one measured event is tested and counted. A test is significant
when its Holm-adjusted p is below :data:`ALPHA`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from btcscan.kernels.outcomes import TARGET, score_events
from btcscan.stats.types import ChanceFamily, ChanceTest, KindStats

SHIFTS = 2999
SEED = 15
ALPHA = 0.05
CORRECTION = "Holm (1979)"
MEASURES: dict[str, str] = {
    "reached_target": "reached the first target",
    "median_return_pct": "median return after the horizon, in the signal's direction (%)",
    "hit_rate": "share in profit after the horizon",
}
#: shifted events scored per kernel call (bounds memory)
_CHUNK_EVENTS = 200_000
#: values gathered at once (shifts x events; bounds memory)
_CHUNK_VALUES = 4_000_000


@dataclass(frozen=True)
class KindSample:
    """What the shift test needs of one kind on one series: the measurable events' bars and
    observed outcomes, their outcomes once shifted by each offset, and the directional
    return at every measurable entry."""

    kind: str
    bars: np.ndarray
    """(m,) entry bars of the measurable events, all < ``L``."""
    reached: np.ndarray
    """(m,) bool: the event reached its first target."""
    reached_shifted: np.ndarray
    """(shifts, m) bool: the event moved by each offset, with its levels in % of the entry,
    reaches its first target (rescored by the kernel)."""
    ret_at: np.ndarray
    """(L,) return in % after the horizon from entry ``s``, in the kind's direction."""

    def shifted_bars(self, u: np.ndarray) -> np.ndarray:
        span = self.ret_at.size
        return (self.bars[None, :] + (u % span)[:, None]) % span


@lru_cache(maxsize=4)
def offsets(n: int = SHIFTS, seed: int = SEED) -> np.ndarray:
    """The shift offsets (large integers; a series takes them modulo its own ``L``)."""
    u = np.random.default_rng(seed).integers(0, 1 << 53, size=n, dtype=np.int64)
    u.flags.writeable = False
    return u


def _one_at_a_time(bars: np.ndarray, span: int, horizon: int) -> np.ndarray:
    """Indices of the events measured: entry before ``span``, and no earlier measured event
    of the kind within ``horizon`` candles before it (one position at a time)."""
    keep = []
    last = None
    for i, b in enumerate(bars.tolist()):
        if b < span and (last is None or b - last >= horizon):
            keep.append(i)
            last = b
    return np.array(keep, dtype=np.int64)


def kind_sample(kind: str, high: np.ndarray, low: np.ndarray, close: np.ndarray,
                bars: np.ndarray, direction: int, targets: np.ndarray, invalidation: np.ndarray,
                on_close: np.ndarray, reached: np.ndarray, horizon: int,
                u: np.ndarray | None = None) -> KindSample:
    """The :class:`KindSample` of one kind's events (arrays as given to
    :func:`~btcscan.kernels.outcomes.score_events`; ``reached``: which of them reached their
    first target there), shifted by the offsets ``u`` (default :func:`offsets`)."""
    u = offsets() if u is None else u
    n = close.shape[0]
    span = max(n - horizon, 0)
    keep = _one_at_a_time(bars, span, horizon)
    b = bars[keep]
    m = b.size
    ret_at = (close[horizon:horizon + span] / close[:span] - 1.0) * 100.0 * direction
    shifted = np.zeros((u.size, m), dtype=np.bool_)
    sample = KindSample(kind, b, np.asarray(reached, dtype=np.bool_)[keep], shifted, ret_at)
    if not m:
        return sample
    # only the first target decides the outcome: scoring stops once it is reached; an event
    # without a target never reaches one and is not rescored
    has = np.flatnonzero(~np.isnan(targets[keep, 0]))
    if not has.size:
        return sample
    entry = close[b[has]]
    t_ratio = targets[keep[has], :1] / entry[:, None]
    i_ratio = invalidation[keep[has]] / entry
    oc = on_close[keep[has]]
    mh = has.size
    # offsets equal modulo L move every event to the same entry: score each distinct one once
    distinct, which = np.unique(u % span, return_inverse=True)
    got = np.empty((distinct.size, mh), dtype=np.bool_)
    per = max(1, _CHUNK_EVENTS // mh)  # offsets per kernel call
    for a in range(0, distinct.size, per):
        st = ((b[has][None, :] + distinct[a:a + per, None]) % span).ravel()  # offset-major
        k = st.size // mh
        c0 = close[st]
        out = score_events(high, low, close, st, np.full(st.size, direction, np.int64),
                           np.tile(t_ratio, (k, 1)) * c0[:, None], np.tile(i_ratio, k) * c0,
                           horizon, on_close=np.tile(oc, k))
        got[a:a + k] = (out["status"] == TARGET).reshape(k, mh)
    shifted[:, has] = got[which.ravel()]
    return sample


def _draws(samples: Sequence[KindSample], u: np.ndarray, rows: slice, measures: Sequence[str]):
    """Per-event values of the samples together (columns) under the shifts ``u[rows]``:
    (reached, returns), each (rows, total events); returns None when no measure needs
    them."""
    reached = np.concatenate([s.reached_shifted[rows] for s in samples], axis=1)
    if measures == ("reached_target",):
        return reached, None
    return reached, np.concatenate([s.ret_at[s.shifted_bars(u[rows])] for s in samples],
                                   axis=1)


def _measures(reached: np.ndarray, ret: np.ndarray | None,
              measures: Sequence[str]) -> dict[str, np.ndarray]:
    """Each measure per row (shift) over the columns (events)."""
    out = {}
    for k in measures:
        if k == "reached_target":
            out[k] = reached.mean(axis=1) * 100.0
        elif k == "median_return_pct":
            out[k] = np.median(ret, axis=1)
        else:
            out[k] = (ret > 0).mean(axis=1) * 100.0
    return out


def two_sided_p(observed: float, shifted: np.ndarray) -> float:
    """Monte Carlo p-value of ``observed`` among ``shifted`` (both tails, doubled); values
    equal to it up to rounding (1e-9 relative) count as ties, in both tails."""
    n = shifted.size
    tie = 1e-9 * max(1.0, abs(observed))
    hi = (1 + int(np.count_nonzero(shifted >= observed - tie))) / (n + 1)
    lo = (1 + int(np.count_nonzero(shifted <= observed + tie))) / (n + 1)
    return min(1.0, 2.0 * min(hi, lo))


def chance_tests(samples: Sequence[KindSample], u: np.ndarray | None = None,
                 measures: Sequence[str] = tuple(MEASURES)) -> tuple[ChanceTest, ...]:
    """The ``measures`` of one kind (one sample, or one per market for a pooled row), each
    against random entries, with its uncorrected p-value (``p_holm`` left None:
    :func:`correct` fills it over a table). ``u``: the offsets the samples were built
    with."""
    u = offsets() if u is None else u
    measures = tuple(measures)
    samples = [s for s in samples if s.bars.size and s.ret_at.size]
    m = sum(s.bars.size for s in samples)
    if not m:
        return tuple(ChanceTest(measure=k, label=MEASURES[k], events=0, value=None,
                                random=None, p_value=None, p_holm=None, verdict="no events")
                     for k in measures)
    obs = _measures(np.concatenate([s.reached for s in samples])[None, :],
                    np.concatenate([s.ret_at[s.bars] for s in samples])[None, :], measures)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in measures}
    rows = max(1, _CHUNK_VALUES // m)
    for a in range(0, u.size, rows):
        for k, v in _measures(*_draws(samples, u, slice(a, a + rows), measures),
                              measures).items():
            parts[k].append(v)
    out = []
    for k in measures:
        t = np.concatenate(parts[k])
        test = ChanceTest(
            measure=k, label=MEASURES[k], events=m, value=float(obs[k][0]),
            random=float(t.mean()),
            p_value=two_sided_p(float(obs[k][0]), t),
            p_holm=None, verdict="")
        out.append(replace(test, verdict=verdict(test)))
    return tuple(out)


def holm(p: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    adj = [0.0] * len(p)
    run = 0.0
    for rank, i in enumerate(order):
        run = max(run, min(1.0, (len(p) - rank) * p[i]))
        adj[i] = run
    return adj


def verdict(t: ChanceTest, alpha: float = ALPHA) -> str:
    """"edge shown" (significantly better than random entries), "worse than random", "no
    edge shown" (not significant), or "no events" (nothing measured, no test). The
    Holm-adjusted p decides in a table; the single test's p where there is no table."""
    p = t.p_holm if t.p_holm is not None else t.p_value
    if p is None:
        return "no events"
    if p >= alpha:
        return "no edge shown"
    return "edge shown" if t.value > t.random else "worse than random"


def correct(kinds: Sequence[KindStats], alpha: float = ALPHA
            ) -> tuple[tuple[KindStats, ...], ChanceFamily]:
    """Holm over every test of one table: each :class:`ChanceTest` gets ``p_holm`` and its
    verdict; the family says how many tests it held and how many are significant."""
    ps = [t.p_value for k in kinds for t in k.chance if t.p_value is not None]
    adj = iter(holm(ps))
    out = []
    for k in kinds:
        tests = []
        for t in k.chance:
            t = replace(t, p_holm=next(adj)) if t.p_value is not None else t
            tests.append(replace(t, verdict=verdict(t, alpha)))
        out.append(replace(k, chance=tuple(tests)))
    sig = sum(t.p_holm is not None and t.p_holm < alpha for k in out for t in k.chance)
    return tuple(out), family(len(ps), sig, alpha)


def family(tests: int, significant: int, alpha: float = ALPHA) -> ChanceFamily:
    return ChanceFamily(tests=tests, significant=significant, alpha=alpha,
                        correction=CORRECTION, shifts=SHIFTS, seed=SEED,
                        method="random entries = the kind's events shifted together by one "
                               "circular offset over the measurable entries of the same series "
                               "(same count, clustering, direction, and levels in % of the "
                               "entry); two-sided Monte Carlo p over the shifts")
