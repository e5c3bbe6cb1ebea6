"""Score past signals by what happened next (walk-forward, no look-back).

An event becomes known at the close of bar ``start``; its entry is that close. Only bars
``start + 1 .. start + horizon`` are read. Rules (each stated so a user can audit them):

* Direction +1 (long: a breakout up, a bullish divergence) or -1 (short).
* A target is reached on the first bar whose high (long) / low (short) touches it.
* The invalidation level is hit on the first bar whose low (long) / high (short) touches it,
  or, for events scored "on close", the first bar that closes beyond it (below for a long,
  above for a short). Scoring stops there. If a target and the invalidation are hit inside
  the same candle, the invalidation counts first (conservative: intrabar order is unknown).
* Excursions are in percent of the entry, measured until the event resolves (last target
  reached, invalidation hit, or horizon end): ``mae_pct`` is the worst move against the
  signal (<= 0), ``mfe_pct`` the best move with it (>= 0). The invalidating candle's
  adverse move counts, its favourable move does not (for MFE nor for the failure rule).
* Bulkowski failure: the price moves less than ``fail_pct`` (5 %) beyond the entry before it
  reverses, where a reversal is a close back through the entry level or the invalidation;
  judged only until the event resolves (no reversal by then: not a failure).
* Status: 1 reached the first target, 2 invalidated first, 3 expired (the horizon passed),
  0 open (the data ended before the horizon, unresolved).
"""

from __future__ import annotations

import numpy as np

from btcscan.kernels._jit import f64, jit, readonly

OPEN, TARGET, INVALIDATED, EXPIRED = 0, 1, 2, 3
STATUS_NAMES = {OPEN: "open", TARGET: "reached_target", INVALIDATED: "invalidated",
                EXPIRED: "expired"}

#: one event as the kernel reads it: bar it is known at (its entry close), direction,
#: invalidation level (NaN: none), whether the invalidation is judged on closes
EVENT_FIELDS = np.dtype([("start", np.int64), ("direction", np.int64),
                         ("invalid", np.float64), ("on_close", np.bool_)])
#: one event's score as the kernel writes it (the fields of :func:`score_events`'s result
#: but ``target_bar``, which is a separate (events, targets) array)
SCORE_FIELDS = np.dtype([("invalid_bar", np.int64), ("resolved_bar", np.int64),
                         ("mae_pct", np.float64), ("mfe_pct", np.float64),
                         ("failed", np.bool_), ("status", np.int64)])


@jit
def _score(high, low, close, events, targets, horizon, fail_pct, target_bar, out):
    """Score ``events`` (rows of :data:`EVENT_FIELDS`) with their ``targets`` (events,
    k) into ``target_bar`` (events, k) and ``out`` (rows of :data:`SCORE_FIELDS`)."""
    n = close.shape[0]
    k = targets.shape[1]
    for e in range(events.shape[0]):
        ev = events[e]
        s = ev.start
        d = ev.direction
        up = d > 0
        down = d < 0
        entry = close[s]
        inv = ev.invalid
        has_inv = inv == inv  # not NaN
        by_close = ev.on_close
        ntargets = 0
        for t in range(k):
            target_bar[e, t] = -1
            ntargets += targets[e, t] == targets[e, t]  # not NaN
        invalid_bar = -1
        resolved_bar = -1
        worst = 0.0
        best = 0.0
        reversed_ = False
        fail = False
        end = min(s + horizon, n - 1)
        for j in range(s + 1, end + 1):
            hj = high[j]
            lj = low[j]
            cj = close[j]
            if up:
                fav = (hj / entry - 1.0) * 100.0
                adv = (lj / entry - 1.0) * 100.0
                hit_inv = has_inv and (cj < inv if by_close else lj <= inv)
            else:
                fav = (1.0 - lj / entry) * 100.0
                adv = (1.0 - hj / entry) * 100.0
                hit_inv = has_inv and (cj > inv if by_close else hj >= inv)
            if adv < worst:
                worst = adv
            if hit_inv:
                invalid_bar = j
                resolved_bar = j
                if not reversed_:
                    reversed_ = True
                    fail = best < fail_pct
                break
            if fav > best:
                best = fav
            remaining = 0
            for t in range(k):
                tv = targets[e, t]
                if tv == tv and target_bar[e, t] < 0:  # a target (not NaN) not reached yet
                    if (up and hj >= tv) or (down and lj <= tv):
                        target_bar[e, t] = j
                    else:
                        remaining += 1
            if not reversed_ and ((up and cj < entry) or (down and cj > entry)):
                reversed_ = True
                fail = best < fail_pct
            if ntargets > 0 and remaining == 0:
                resolved_bar = j
                break
        o = out[e]
        o.mae_pct = worst
        o.mfe_pct = best
        o.failed = fail
        t0 = targets[e, 0]
        if t0 == t0 and target_bar[e, 0] >= 0 and (
                invalid_bar < 0 or target_bar[e, 0] < invalid_bar):
            o.status = TARGET
        elif invalid_bar >= 0:
            o.status = INVALIDATED
        elif s + horizon <= n - 1:
            o.status = EXPIRED
            if resolved_bar < 0:
                resolved_bar = s + horizon
        else:
            o.status = OPEN
        o.invalid_bar = invalid_bar
        o.resolved_bar = resolved_bar


def score_events(high, low, close, start, direction, targets, invalidation, horizon: int,
                 fail_pct: float = 5.0, on_close=None) -> dict[str, np.ndarray]:
    """Score events; see the module docstring for the rules. ``targets`` is (events, k) with
    NaN for a missing target; ``invalidation`` NaN means none; ``on_close`` (bool per event,
    default all False) judges that event's invalidation on closes instead of touches.
    Returns arrays per event:
    ``target_bar`` (events, k; -1 = not reached), ``invalid_bar``, ``resolved_bar``
    (-1 = unresolved), ``mae_pct``, ``mfe_pct``, ``failed`` (bool), ``status`` (0-3)."""
    h, lo, c = f64(high), f64(low), f64(close)
    tg = np.ascontiguousarray(targets, dtype=np.float64)
    tg = f64(tg.reshape(-1, 1) if tg.ndim == 1 else tg)
    st = np.asarray(start, dtype=np.int64)
    m = st.shape[0]
    cols = {"start": st, "direction": np.asarray(direction, dtype=np.int64),
            "invalid": np.asarray(invalidation, dtype=np.float64),
            "on_close": (np.zeros(m, dtype=np.bool_) if on_close is None
                         else np.asarray(on_close, dtype=np.bool_))}
    if tg.shape[0] != m or any(v.shape != (m,) for v in cols.values()):
        raise ValueError("start, direction, targets, invalidation and on_close need one row "
                         "per event")
    ev = np.empty(m, dtype=EVENT_FIELDS)  # one record type: the one _score is compiled for
    for name, v in cols.items():
        ev[name] = v
    if m and (st.min() < 0 or st.max() >= c.shape[0]):
        raise ValueError("event start outside the candles")
    if horizon < 1:
        raise ValueError("horizon must be >= 1 bar")
    target_bar = np.empty((m, tg.shape[1]), dtype=np.int64)
    out = np.empty(m, dtype=SCORE_FIELDS)
    _score(h, lo, c, readonly(ev), tg, int(horizon), float(fail_pct), target_bar, out)
    return {"target_bar": target_bar, **{f: out[f].copy() for f in SCORE_FIELDS.names}}
