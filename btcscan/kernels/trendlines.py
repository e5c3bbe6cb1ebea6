"""Trend lines through pivots and the causal wedge scanner.

Lines are ``price(x) = c + s * (x - x0)`` with ``x`` a bar index, ``s`` the slope in price
per bar and ``x0`` the first pivot bar of the pattern.

**Envelope fit** (in :func:`_scan_wedges_into`): the slope is the least-squares slope through the
pivots of one side (from running sums, x relative to the newest pivot); the line is then
shifted so that no pivot lies beyond it (upper line on or above every high pivot, lower line
on or below every low pivot) -- the way an analyst draws a line "on" the swing points rather
than through their middle. A pivot is a **touch** when it lies within ``tol`` of its line.
Windows hold at most a handful of pivots; the slopes of all candidate windows ending at the
newest pivot come from running sums grown backwards from it (O(k) for all windows together),
and the intercepts, touches and the close check are only computed for windows whose slopes
already make a wedge.

**Wedge scan** (:func:`_scan_wedges_into`): bars are walked in order. At bar ``t`` the
alternating pivot list as known at ``t`` is rebuilt incrementally from the zig-zag log (see
:mod:`btcscan.kernels.pivots`). Whenever it changes and no wedge is forming, the most recent
``m`` pivots (``m = max_pivots .. 5``, largest first) are tested against the wedge rules
(DOMAIN.md, "Wedges"); the first window that passes is recorded as known at ``t``. Windows
starting at or before the first pivot of the last resolved wedge are skipped (no redrawing a
wedge that already broke). A forming wedge is then followed bar by bar: a close above the
upper line is a breakout up, a close below the lower line a breakdown, reaching the apex
without either is expiry. Lines are frozen when the wedge becomes known, so nothing recorded
for bar ``t`` can change when later bars arrive. Only one wedge forms at a time.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from btcscan.kernels._jit import f64, jit
from btcscan.kernels.pivots import pivot_log

if TYPE_CHECKING:  # kernels never import the patterns package at run time
    from btcscan.patterns.params import PatternParams

MAX_PIVOTS_LIMIT = 62  # window masks are int64 bit sets

KIND_FALLING = -1
KIND_RISING = 1
STATE_FORMING, STATE_UP, STATE_DOWN, STATE_EXPIRED = 0, 1, 2, 3


#: one wedge as the kernel writes it (bars are row indices of the candles; the price of a
#: line at bar b is ``c + slope * (b - x0)``); the window's pivots go to a separate array
#: (their number is a parameter, and a record type is compiled per layout)
WEDGE_FIELDS = np.dtype([
    ("kind", np.int64),  # KIND_FALLING / KIND_RISING
    ("known", np.int64),  # bar at which the wedge became known
    ("state", np.int64),  # STATE_* as of the last bar
    ("state_bar", np.int64),  # bar at which that state became known
    ("x0", np.int64),  # first pivot bar
    ("x1", np.int64),  # last pivot bar
    ("touches_upper", np.int64),
    ("touches_lower", np.int64),
    ("first_touch_upper", np.int64),  # bar of each line's first touch: where it is drawn from
    ("first_touch_lower", np.int64),
    ("npiv", np.int64),  # pivots in the window
    ("slope_upper", np.float64),
    ("c_upper", np.float64),  # upper line at x0
    ("slope_lower", np.float64),
    ("c_lower", np.float64),
    ("apex", np.float64),  # bar (fractional) where the lines meet
    ("tol", np.float64),  # touch tolerance in price (touch_tolerance_atr x ATR when known)
    ("atr", np.float64),  # ATR when known: the close tolerance while the wedge is followed
])


@functools.lru_cache(maxsize=8)
def wedge_dtype(max_pivots: int) -> np.dtype:
    """The numpy dtype of one wedge row as :func:`scan_wedges` returns it: the fields of
    :data:`WEDGE_FIELDS`, with ``pivots`` (the window's pivot log entries, newest last, then
    -1; ``max_pivots`` of them) after ``npiv``."""
    f = [(name, WEDGE_FIELDS.fields[name][0]) for name in WEDGE_FIELDS.names]
    k = WEDGE_FIELDS.names.index("npiv") + 1
    return np.dtype([*f[:k], ("pivots", np.int64, (max_pivots,)), *f[k:]])


class WedgeRules(NamedTuple):
    """The wedge rules as the kernel reads them (:func:`wedge_rules` builds one from
    :class:`btcscan.patterns.PatternParams`; tolerances and sizes in ATR)."""

    max_pivots: int
    min_major: int
    min_minor: int
    touch_tol: float
    close_tol: float
    min_dur: int
    max_dur: int
    conv_ratio: float
    min_move: float
    min_height: float


@jit(inline="always")
def _slope(k, sx, sy, sxx, sxy):
    """Least-squares slope from running sums over k points (0 if all x are equal).

    x is taken relative to the newest pivot, so for integer bars and prices the sums and
    both products below are exact in float64; only the final division rounds.
    """
    den = k * sxx - sx * sx
    if den == 0.0:
        return 0.0
    return (k * sxy - sx * sy) / den


@jit(inline="always")
def _touch(y, c, s, dx, tol):
    """Whether a pivot at price ``y``, ``dx`` bars after x0, touches the line ``c + s * dx``
    (within ``tol``): the touch rule, for the touch counts and each line's first touch."""
    return abs(y - (c + s * dx)) <= tol


@jit(inline="always")
def _add_pivot(stack, ns, m, xref, log_bar, log_price, px, py, k, sx, sy, sxx, sxy):
    """The ``m``-th newest pivot of the list (``stack[:ns]``) into ``px[m]`` / ``py[m]``
    (bar - ``xref``, price) and into its side's running sums; returns ``(x, k, sx, sy, sxx,
    sxy, slope)``. Indices are cast to uint64: numba adds a negative-index fix-up to every
    signed index it cannot prove >= 0, a third of the window loop's instructions otherwise.
    """
    q = np.uint64(stack[np.uint64(ns - m)])
    um = np.uint64(m)
    x = float(log_bar[q] - xref)
    y = log_price[q]
    px[um] = x
    py[um] = y
    k += 1.0
    sx += x
    sy += y
    sxx += x * x
    sxy += x * y
    return x, k, sx, sy, sxx, sxy, _slope(k, sx, sy, sxx, sxy)


@jit(inline="always")
def _window_rules(m, up, sa, sb, dur, min_dur, max_dur, move_min, close_min, msu, msl):
    """Whether window ``m`` passes the rules that need only its slopes, from the slope of
    the newest pivot's side (``sa``) and of the other side (``sb``); ``up``: the newest
    pivot is a high. The upper and lower slopes go to ``msu[m]`` / ``msl[m]``. Selects,
    not branches.

    The windows hold at least ``min_minor`` pivots of each side (``m >= min_major +
    min_minor`` alternating), and slopes of one sign have numerators of that sign (the
    denominators are sums of integers, exact and >= 0), so converging slopes of one sign
    are all that is left of the rules on sides and signs.
    """
    su = sa if up else sb
    sl = sb if up else sa
    conv = (su < sl) & ((sl < 0.0) | (su > 0.0))  # both falling or both rising, converging
    good = (conv & (dur >= min_dur) & (dur <= max_dur)
            & (min(abs(su), abs(sl)) * dur >= move_min) & ((sl - su) * dur >= close_min))
    msu[np.uint64(m)] = su
    msl[np.uint64(m)] = sl
    return good


@jit
def _scan_wedges_into(close, log, rules, stack, scratch, w, wpiv):
    """The wedge scan (module docstring) over the zig-zag ``log`` (a :class:`PivotLog`)
    with ``rules`` (a :class:`WedgeRules`); returns the number of records written into
    ``w`` (rows of :data:`WEDGE_FIELDS`) and their pivots into ``wpiv`` (rows, max_pivots),
    or -1 when they hold too few rows (the caller retries with more). ``log.atr`` is the ATR
    at each entry's confirmation bar: tolerances at a bar with a change use it, and each
    record keeps it (field ``atr``) for the close tolerance while the wedge is followed.
    ``stack`` is scratch for ``max_pivots + len(log)`` entries, ``scratch``
    (:func:`window_scratch`) for the windows' slopes and pivots (the kernel allocates
    nothing, see :func:`btcscan.kernels.pivots._raw_pivot_list`)."""
    log_atr, log_bar, log_confirm = log.atr, log.bar, log.confirm
    log_price, log_side, log_sup = log.price, log.side, log.superseded_at
    max_pivots, min_major, min_minor = rules.max_pivots, rules.min_major, rules.min_minor
    touch_tol, close_tol = rules.touch_tol, rules.close_tol
    min_dur, max_dur = rules.min_dur, rules.max_dur
    conv_ratio, min_move, min_height = rules.conv_ratio, rules.min_move, rules.min_height
    n = close.shape[0]
    ns = 0
    e = 0
    nlog = log_bar.shape[0]
    nw = 0
    forming = -1
    last_x0 = -1  # first pivot bar of the last resolved wedge: redraws of it are suppressed
    min_piv = min_major + min_minor
    msu = scratch[0]  # the windows' slopes
    msl = scratch[1]
    px = scratch[2]  # the newest pivots, newest first from index 1: bar - xref, price
    py = scratch[3]
    t = -1
    while True:
        t += 1
        if forming < 0:  # nothing to follow: jump to the next bar where a pivot is confirmed
            if e >= nlog:
                break
            t = max(t, log_confirm[e])
        if t >= n:
            break
        # 1. follow the forming wedge with this bar's close
        if forming >= 0:
            f = w[forming]
            dx = t - f.x0
            up = f.c_upper + f.slope_upper * dx
            lo = f.c_lower + f.slope_lower * dx
            ctol = close_tol * f.atr
            st = -1
            if t >= f.apex:  # past the apex the lines have crossed
                st = STATE_EXPIRED
            elif close[t] > up + ctol:
                st = STATE_UP
            elif close[t] < lo - ctol:
                st = STATE_DOWN
            if st >= 0:
                f.state = st
                f.state_bar = t
                last_x0 = f.x0
                forming = -1
        # 2. pivots confirmed at this bar
        changed = False
        while e < nlog and log_confirm[e] == t:
            if ns > 0 and log_sup[stack[ns - 1]] == t:
                ns -= 1
            stack[ns] = e
            ns += 1
            e += 1
            changed = True
        if not changed or forming >= 0:
            continue
        # 3. look for a new wedge in the most recent m pivots, largest m first. Slopes of
        # every window come from running sums grown from the newest pivot backwards. The
        # rules that need only the slopes (same sign, converging, both lines clearly
        # moving, closing by enough for the width rules) are applied there, without
        # branches (on noisy prices they are coin flips a branch predictor cannot learn).
        top = min(max_pivots, ns)
        if top < min_piv:
            continue
        atr_t = log_atr[e - 1]  # the ATR at this bar (entry e - 1 is confirmed at t)
        tol = touch_tol * atr_t
        if not (tol >= 0.0):  # NaN ATR (warm-up): no wedge yet
            continue
        move_min = min_move * atr_t
        # converging lines close by d = (sl - su) * dur over the window, and the width
        # rules below (w1 <= conv * w0, w0 >= min_height ATR) imply d >= (1 - conv) *
        # min_height ATR: a test on slopes alone, with a 1e-9 margin so that rounding
        # never rejects a window the exact rules would accept
        close_min = (1.0 - conv_ratio) * min_height * atr_t * (1.0 - 1e-9)
        xref = log_bar[stack[ns - 1]]
        x1 = xref
        # the list alternates sides, so window m adds the newest side's pivot (a) when m
        # is odd and the other side's (b) when m is even: two sets of running sums, no
        # branch on the side, and each side's slope computed once per pivot it gains; a
        # window's rules are combined without branches (they are unpredictable), into the
        # bit set okbits
        nh = log_side[stack[ns - 1]] > 0
        ka = 0.0
        ax = 0.0
        ay = 0.0
        axx = 0.0
        axy = 0.0
        kb = 0.0
        bx = 0.0
        by = 0.0
        bxx = 0.0
        bxy = 0.0
        sa = 0.0
        sb = 0.0
        okbits = np.int64(0)
        m = np.int64(1)  # not a literal 1: numba would compile the helpers twice
        while m <= top:  # odd m: the newest pivot's side
            x, ka, ax, ay, axx, axy, sa = _add_pivot(stack, ns, m, xref, log_bar, log_price, px,
                                                     py, ka, ax, ay, axx, axy)
            if m >= min_piv:
                okbits |= np.int64(_window_rules(m, nh, sa, sb, -x, min_dur, max_dur,
                                                 move_min, close_min, msu, msl)) << m
            m += 1
            if m > top:
                break
            x, kb, bx, by, bxx, bxy, sb = _add_pivot(stack, ns, m, xref, log_bar, log_price, px,
                                                     py, kb, bx, by, bxx, bxy)  # the other side
            if m >= min_piv:
                okbits |= np.int64(_window_rules(m, nh, sa, sb, -x, min_dur, max_dur,
                                                 move_min, close_min, msu, msl)) << m
            m += 1
        if okbits == 0:
            continue
        # the windows that passed, largest first: a loop over set bits, so no branch on
        # the windows that failed. Envelope intercepts, convergence, apex, touches and the
        # close check; pivot j of the window (newest first) is on side a when j is odd
        ga = 1.0 if nh else -1.0
        m = top
        while okbits != 0:
            while (okbits >> m) & 1 == 0:
                m -= 1
            okbits ^= np.int64(1) << m
            r0 = ns - m
            x0 = log_bar[stack[r0]]
            if x0 <= last_x0:  # no redrawing the last resolved wedge
                continue
            su = msu[m]
            sl = msl[m]
            sa = su if nh else sl
            sb = sl if nh else su
            # intercepts: the extreme of each side's offsets, the lows' negated so both
            # sides take a max in one loop over the window, side a at odd j (a negation
            # is exact); bars relative to x0 are the exact integers bar - x0
            xm = px[m]
            ra = -np.inf
            rb = -np.inf
            for j in range(1, m + 1):
                odd = (j & 1) == 1  # side a
                v = (ga if odd else -ga) * (py[j] - (sa if odd else sb) * (px[j] - xm))
                if odd:
                    ra = max(ra, v)
                else:
                    rb = max(rb, v)
            ca = ga * ra
            cb = -ga * rb
            cu = ca if nh else cb
            cl = cb if nh else ca
            w0 = cu - cl
            w1 = w0 + (su - sl) * (x1 - x0)
            if not (w0 > 0.0 and w1 > 0.0 and w1 <= conv_ratio * w0):
                continue
            if w0 < min_height * atr_t:  # too small against the noise
                continue
            apex = x0 + w0 / (sl - su)
            if not (apex > x1 and apex > t):  # apex ahead of the last pivot and of now
                continue
            # every remaining rule, inline (a call per window with a dozen array arguments
            # and row views cost more than the checks themselves). Touches of both sides
            # and each line's first touch (below) in one loop over the window: one copy of
            # the touch rule to compile, not one per side and use
            ta = 0
            tb = 0
            ja = 0  # side a's oldest touching pivot (the largest odd j that touches)
            jb = 0  # side b's (even j)
            for j in range(1, m + 1):
                odd = (j & 1) == 1  # side a
                hit = _touch(py[j], ca if odd else cb, sa if odd else sb, px[j] - xm, tol)
                ta += hit & odd
                tb += hit & (not odd)
                ja = j if hit & odd else ja
                jb = j if hit & (not odd) else jb
            tu = ta if nh else tb
            tl = tb if nh else ta
            if not ((tu >= min_major and tl >= min_minor)
                    or (tl >= min_major and tu >= min_minor)):
                continue
            ctl = close_tol * atr_t
            inside = True
            for b in range(t, x0 - 1, -1):  # newest first: a recent close outside fails fastest
                dx = b - x0
                if close[b] > cu + su * dx + ctl or close[b] < cl + sl * dx - ctl:
                    inside = False
                    break
            if not inside:
                continue
            if nw == w.shape[0]:
                return -1
            # each line is drawn from its first touch: the oldest pivot of its side that
            # touches (ja / jb; there are >= min_minor)
            first_a = log_bar[stack[ns - ja]]
            first_b = log_bar[stack[ns - jb]]
            f = w[nw]
            f.kind = KIND_FALLING if su < 0.0 else KIND_RISING
            f.known = t
            f.state = STATE_FORMING
            f.state_bar = t
            f.x0 = x0
            f.x1 = x1
            f.touches_upper = tu
            f.touches_lower = tl
            f.first_touch_upper = first_a if nh else first_b
            f.first_touch_lower = first_b if nh else first_a
            f.npiv = m
            for r in range(m):
                wpiv[nw, r] = stack[ns - m + r]
            for r in range(m, wpiv.shape[1]):
                wpiv[nw, r] = -1
            f.slope_upper = su
            f.c_upper = cu
            f.slope_lower = sl
            f.c_lower = cl
            f.apex = apex
            f.tol = tol
            f.atr = atr_t
            forming = nw
            nw += 1
            break
    return nw


def window_scratch(max_pivots: int) -> np.ndarray:
    """Scratch of :func:`_scan_wedges_into` for the windows' slopes and pivots."""
    return np.empty((4, max_pivots + 1))


def wedge_rules(params: PatternParams) -> WedgeRules:
    """The kernel's :class:`WedgeRules` from ``params`` (checked, every field cast to the one
    type the kernel is compiled for)."""
    p = params
    major, minor, max_pivots = (int(p.min_touches_major), int(p.min_touches_minor),
                                int(p.max_pivots))
    if minor < 2 or major < minor:
        raise ValueError("need 2 <= min_touches_minor <= min_touches_major")
    if max_pivots < major + minor:
        raise ValueError("max_pivots must be >= min_touches_major + min_touches_minor")
    if max_pivots > MAX_PIVOTS_LIMIT:
        raise ValueError(f"max_pivots must be <= {MAX_PIVOTS_LIMIT}")
    return WedgeRules(max_pivots, major, minor, float(p.touch_tolerance_atr),
                      float(p.close_tolerance_atr), int(p.min_duration_bars),
                      int(p.max_duration_bars), float(p.convergence_ratio),
                      float(p.min_line_move_atr), float(p.min_height_atr))


_RECORD_NAMES = list(WEDGE_FIELDS.names)


def scan_wedges(close, atr, log: dict[str, np.ndarray], params: PatternParams, *,
                initial_rows: int | None = None) -> np.ndarray:
    """All wedges found by walking the bars (see module docstring).

    ``log`` is the zig-zag log of :func:`btcscan.kernels.pivots.zigzag` over the same bars;
    ``params`` a :class:`btcscan.patterns.PatternParams` (the one place defaults live).
    Returns a structured array (:func:`wedge_dtype`: the fields of :data:`WEDGE_FIELDS`),
    one row per wedge in the order they became known. States are as of the last bar.
    ``initial_rows`` (tests only) sets the first guess of the output size.
    """
    c = f64(close)
    a = f64(atr)
    if c.ndim != 1 or c.shape != a.shape:
        raise ValueError("close and atr must be one-dimensional with the same length")
    rules = wedge_rules(params)
    plog = pivot_log(log, a)
    nlog = int(plog.bar.shape[0])
    cap = nlog + 1
    stack = np.empty(cap + rules.max_pivots, dtype=np.int64)
    scratch = window_scratch(rules.max_pivots)
    # wedges are far rarer than pivots: start small (fresh pages cost page faults), retry
    # with the proven bound (one wedge per pivot change at most) if that is not enough
    rows = min(cap, nlog // 16 + 64) if initial_rows is None else max(1, int(initial_rows))
    while True:
        w = np.empty(rows, dtype=WEDGE_FIELDS)
        wpiv = np.empty((rows, rules.max_pivots), dtype=np.int64)
        k = _scan_wedges_into(c, plog, rules, stack, scratch, w, wpiv)
        if k >= 0:
            out = np.empty(k, dtype=wedge_dtype(rules.max_pivots))
            out[_RECORD_NAMES] = w[:k]  # every field at once (by position: the same order)
            out["pivots"] = wpiv[:k]
            return out
        rows = cap
