"""Discover a :class:`SimulationModel` from an event log (any log ``analyze`` reads).

What is taken from the log, and how:

- **Arrivals**: the first event of each case (its start time when the log has one). Their
  pattern over the week (per hour, in ``time_zone``) comes from the whole log; their level is
  the rate of the log's last ``arrival_weeks`` weeks (8; ``None``: the whole log's mean), so a
  growing or shrinking operation is simulated as it runs now, not as it ran on average.
- **Routing**: first-order transition counts between consecutive events of a case, with START
  and END; self-loops and edges back to earlier stages are the rework paths.
- **Processing time**: completion minus start, in the pool's working time (hours off shift do
  not count; the engine pauses work off shift the same way). A log with start times uses them; a log with
  completion times only gets its starts estimated the way Martin, Depaire and Caris (2016)
  and the start-time estimator of Chapela-Campa and Dumas do it: an activity starts when both
  its case has finished the previous activity and its resource has finished its previous work.
  The first event of a case, with no enabling time, counts as instantaneous.
- **Extraneous delays**: waiting the pool's capacity does not explain (a customer's answer,
  a timer), run as a delay before the task queues; see :func:`_timed_events`.
- **Pools**: given (``pools={activity: pool}``), from an event attribute (``pool_attribute``,
  e.g. the team or role column), or discovered: activities whose work is shared by the same
  resources (overlap of their resource shares >= 50 %) form one pool, named after the activity
  it does most. Staff = the median number of distinct resources active per week; when the
  pool's measured work exceeds their working hours (what one task at a time cannot do), its
  resources are taken to multitask, enough to be busy ``max_utilisation`` of their hours; a
  busy team that fits its hours works one task at a time and queues. A log without resources
  gets one pool per activity with its 95th-percentile observed concurrency as capacity.
- **Working hours**: the fewest hours of the week that hold 98 % of a pool's work starts and
  ends (a pool with fewer than 200 tasks gets the whole log's hours), or given
  (``working_hours="Mon-Fri 08-18"`` or one text per pool).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import polars as pl

from .._schema import US, A, C, I, R, S, T
from ..errors import AnalyticsError, InvalidParameterError
from ..eventlog import EventLog
from ._calendar import Calendar
from .model import HOURS_PER_WEEK, ActivityModel, PoolModel, SimulationModel, parse_hours

__all__ = ["ModelDiscoveryError", "discover_model"]

WEEK_US = 7 * 86_400 * US
_MIN_CASES = 30
_COVERAGE = 0.98
_SHARED = 0.5
_MIN_CALENDAR_EVENTS = 200


class ModelDiscoveryError(AnalyticsError):
    """The log cannot give a simulation model (too few cases, too short, nothing to route).

    ``reason`` (``too_small``, ``too_short``) and ``values`` say why as data, so an application
    can say it in its reader's language.
    """

    def __init__(self, message: str, *, reason: str = "", **values: Any) -> None:
        self.reason = reason
        self.values = values
        super().__init__(message)


def discover_model(
    log: EventLog,
    *,
    pools: Mapping[str, str] | None = None,
    pool_attribute: str | None = None,
    staff: Mapping[str, int] | None = None,
    working_hours: str | Mapping[str, str] | None = None,
    time_zone: str = "UTC",
    min_cases: int = _MIN_CASES,
    max_utilisation: float = 0.85,
    arrival_weeks: float | None = 8.0,
    duration_points: int = 1001,
) -> SimulationModel:
    """Discover a simulation model of the process in ``log``.

    Parameters
    ----------
    log
        Any :class:`~serviceloop.analytics.EventLog`.
    pools
        ``{activity: pool}`` for some or all activities (the rest are discovered).
    pool_attribute
        An event attribute naming the team or role that did the work (``workgroup``).
    staff
        ``{pool: resources}``, overriding the discovered head count.
    working_hours
        ``"Mon-Fri 08-18"`` for every pool, or ``{pool: hours}``; default: discovered.
    time_zone
        Where weeks and hours are counted (arrival pattern, working hours).
    min_cases
        Fewer cases than this raise :class:`ModelDiscoveryError`.
    max_utilisation
        A pool whose measured work exceeds its resources' working hours is taken to multitask
        (each holds several tasks at once), enough to be busy this share of their hours. A pool
        whose work fits its hours, however busy, works one task at a time: its waits are
        queueing, and more staff shortens them.
    arrival_weeks
        The arrival rate is the rate of the log's last ``arrival_weeks`` weeks (cases whose
        first event falls in them), spread over the week as in the whole log; ``None`` (or a
        window as long as the log) takes the whole log's mean rate.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> rows = [(f"c{i}", act, 3600 * (i * 5 + k)) for i in range(40)
    ...         for k, act in enumerate(["Open", "Fix", "Close"])]
    >>> log = from_polars(pl.DataFrame(rows, schema=["case_id", "activity", "timestamp"],
    ...                                orient="row"))
    >>> model = discover_model(log)
    >>> [a.name for a in model.activities], round(float(model.routing[0, 1]), 2)
    (['Close', 'Fix', 'Open'], 0.0)
    """
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameterError(f"unknown time zone {time_zone!r}") from None
    del zone
    if min_cases < 2:
        raise InvalidParameterError("min_cases must be at least 2")
    if not 0 < max_utilisation <= 1:
        raise InvalidParameterError(f"max_utilisation must be in (0, 1], not {max_utilisation}")
    if arrival_weeks is not None and not 1 <= arrival_weeks <= 10_000:
        raise InvalidParameterError(
            f"arrival_weeks must be at least 1 week (or None: the whole log), not {arrival_weeks}"
        )
    ev = log.coded()
    n_cases = int(ev[C].n_unique()) if ev.height else 0
    if n_cases < min_cases:
        raise ModelDiscoveryError(
            f"the log is too small to discover a simulation model: {n_cases} case(s), "
            f"at least {min_cases} needed",
            reason="too_small",
            cases=n_cases,
            needed=min_cases,
        )
    names = log.activities
    n = len(names)
    events = _timed_events(ev, log)
    first = events.filter(pl.col("__first"))
    arrivals_us = first["__arrival"].to_numpy()
    span_us = int(arrivals_us.max() - arrivals_us.min())
    if span_us < 86_400 * US:
        raise ModelDiscoveryError(
            "the log is too short to discover a simulation model: its cases arrive within "
            f"{span_us / US / 3600:.1f} hours, at least one day needed",
            reason="too_short",
            hours=round(span_us / US / 3600, 1),
        )
    weeks = span_us / WEEK_US
    arrivals_slot = _hour_of_week(first["__arrival"], time_zone)
    counts = np.bincount(arrivals_slot, minlength=HOURS_PER_WEEK).astype(float)
    arrivals, arrival_rule = _arrival_rates(counts, arrivals_us, weeks, arrival_weeks)

    routing = _routing(events, n)
    act_pool, pool_resources = _pools(events, log, names, pools, pool_attribute)
    pool_names = sorted(set(act_pool.values()))
    origin = _week_origin(int(arrivals_us.min()), time_zone)
    events = events.with_columns(
        ((pl.col("__start") - origin) / US).alias("__s"), ((pl.col(T) - origin) / US).alias("__e")
    )
    hours_given = _given_hours(working_hours, pool_names)
    staff_given = dict(staff or {})
    for key in staff_given:
        if key not in pool_names:
            raise InvalidParameterError(
                f"staff: unknown pool {key!r}; the pools are: {', '.join(pool_names)}"
            )
    pool_models = []
    durations: dict[int, np.ndarray] = {}
    delays: dict[int, np.ndarray] = {}
    events = events.with_columns(((pl.col("__enable") - origin) / US).alias("__en"))
    # A pool with little work shows too few hours to learn its own: it gets the log's.
    all_hours = _working_hours(
        np.concatenate([_slots(events["__s"].to_numpy()), _slots(events["__e"].to_numpy())])
    )
    for pool in pool_names:
        codes = [names.index(a) for a, p in act_pool.items() if p == pool]
        work = events.filter(pl.col(A).is_in(codes))
        mask = hours_given.get(pool)
        if work.height == 0:  # activities of a filtered log that never occur: never routed to
            mask = np.ones(HOURS_PER_WEEK, dtype=bool) if mask is None else mask
        if mask is None and work.height < _MIN_CALENDAR_EVENTS:
            mask = all_hours
        if mask is None:
            mask = _working_hours(
                np.concatenate([_slots(work["__s"].to_numpy()), _slots(work["__e"].to_numpy())])
            )
        cal = Calendar(mask)
        proc = np.maximum(
            cal.to_work_array(work["__e"].to_numpy()) - cal.to_work_array(work["__s"].to_numpy()),
            0.0,
        )
        acts = work[A].to_numpy()
        for code in codes:
            durations[code] = proc[acts == code]
        heads = staff_given.get(pool)
        if heads is None:
            heads = _staff(work, log.has_resource)
        if heads < 1:
            raise InvalidParameterError(f"staff for pool {pool!r} must be at least 1")
        # Work that one task at a time cannot fit in the pool's working hours means its
        # resources work on several cases at once (completion-only logs show it most). A busy
        # team whose work fits its hours (90 % busy, say) is not multitasking: it queues.
        load = float(proc.sum()) / max(weeks, 1.0) / (heads * cal.per_week)
        model_pool = PoolModel(
            name=pool,
            capacity=mask.astype(np.int64) * int(heads),
            resources=tuple(pool_resources.get(pool, ())),
            multitasking=load / max_utilisation if load > 1.0 else 1.0,
        )
        pool_models.append(model_pool)
        if log.has_resource:
            waits = _pool_delays(
                work["__s"].to_numpy(),
                work["__e"].to_numpy(),
                work["__en"].to_numpy(),
                model_pool.slots,
                cal,
            )
            first_flags = work["__first"].to_numpy()
            for code in codes:
                sel = (acts == code) & ~first_flags
                delays[code] = waits[sel]
    activities = []
    grid = np.linspace(0.0, 1.0, duration_points)
    for code, name in enumerate(names):
        sample = durations.get(code, np.zeros(0))
        q = np.quantile(sample, grid) if sample.size else np.zeros(1)
        if code in delays:
            wait = delays[code]
        else:
            wait = events.filter((pl.col(A) == code) & ~pl.col("__first"))["__delay"].to_numpy()
            wait = wait / US
        d = np.quantile(wait, grid) if wait.size and wait.any() else np.zeros(1)
        activities.append(
            ActivityModel(
                name=name, pool=act_pool[name], durations=q, observed=int(sample.size), delays=d
            )
        )
    info = _observed(events, names, first, weeks, log)
    info.update(
        {
            "cases": n_cases,
            "events": ev.height,
            "weeks": weeks,
            "has_start": log.has_start,
            "arrivals": arrival_rule,
            "starts": "from the log"
            if log.has_start
            else ("estimated from resource availability" if log.has_resource else "previous event"),
            "source": log.source,
        }
    )
    return SimulationModel(
        activities=tuple(activities),
        routing=routing,
        arrivals=arrivals,
        pools=tuple(pool_models),
        time_zone=time_zone,
        origin_us=origin,
        info=info,
    )


def _timed_events(ev: pl.DataFrame, log: EventLog) -> pl.DataFrame:
    """Each event with its enabling time, (estimated) start, processing and waiting (us)."""
    frame = ev.with_columns(
        pl.col(T).shift(1).over(C).alias("__enable"),
        pl.col(A).shift(-1).over(C).alias("__next"),
    ).with_columns(
        pl.col("__enable").is_null().alias("__first"),
    )
    if log.has_resource:
        frame = frame.sort(R, T, I).with_columns(pl.col(T).shift(1).over(R).alias("__res_free"))
        frame = frame.sort(C, T, I)
    else:
        frame = frame.with_columns(pl.lit(None, pl.Int64).alias("__res_free"))
    # Extraneous delay: waiting that the pool's capacity does not explain, so the engine runs it
    # as a timer before the task queues. With start times and resources it is the time between
    # the task being possible (case enabled, resource free) and its start (Chapela-Campa and
    # Dumas 2023); a log without them cannot tell contention from delay, so all of the observed
    # waiting is taken as delay and the simulated queueing comes on top.
    free = pl.max_horizontal(pl.col("__enable"), pl.col("__res_free"))
    if log.has_start:
        start = pl.min_horizontal(pl.col(S), pl.col(T))
        delay = (start - free) if log.has_resource else (start - pl.col("__enable"))
    elif log.has_resource:
        start = (
            pl.when(pl.col("__first"))
            .then(pl.col(T))
            .otherwise(
                pl.min_horizontal(
                    pl.max_horizontal(pl.col("__enable"), pl.col("__res_free")), pl.col(T)
                )
            )
        )
        delay = start - pl.col("__enable")
    else:
        start = pl.coalesce(pl.col("__enable"), pl.col(T))
        delay = pl.lit(0, pl.Int64)
    frame = frame.with_columns(start.alias("__start"), delay.alias("__delay"))
    arrival = pl.col("__start").first().over(C)
    return frame.with_columns(
        (pl.col(T) - pl.col("__start")).alias("__proc"),
        (pl.col("__start") - pl.col("__enable")).clip(lower_bound=0).fill_null(0).alias("__wait"),
        pl.when(pl.col("__first"))
        .then(0)
        .otherwise(pl.col("__delay").clip(lower_bound=0).fill_null(0))
        .alias("__delay"),
        arrival.alias("__arrival"),
    )


def _arrival_rates(
    counts: np.ndarray, arrivals_us: np.ndarray, weeks: float, arrival_weeks: float | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Expected new cases per hour of the week: the log's weekly pattern at its recent level.

    ``counts`` are the log's arrivals per hour of the week. The level is the rate of the last
    ``arrival_weeks`` weeks (up to the last arrival) unless that window spans the whole log.
    """
    whole = float(counts.sum()) / max(weeks, 1.0)
    rule: dict[str, Any] = {"cases_per_week_whole_log": whole}
    if arrival_weeks is None or arrival_weeks >= weeks:
        rule.update(rule="the whole log's mean rate", weeks=weeks, cases_per_week=whole)
        return counts / max(weeks, 1.0), rule
    last = int(arrivals_us.max())
    recent = int((arrivals_us > last - arrival_weeks * WEEK_US).sum())
    level = recent / arrival_weeks
    rule.update(
        rule=f"the rate of the last {arrival_weeks:g} weeks",
        weeks=float(arrival_weeks),
        cases_per_week=level,
    )
    return counts / counts.sum() * level, rule


def _pool_delays(
    start: np.ndarray, end: np.ndarray, enable: np.ndarray, slots: np.ndarray, cal: Calendar
) -> np.ndarray:
    """Extraneous delay of each task of a pool: waiting while the pool had room (seconds).

    A task enabled at ``enable`` and started at ``start`` could have started at any on-shift
    moment the pool had fewer tasks in hand than its ``slots`` in that hour of the week (off
    shift: its most); the last such moment before its
    start bounds the delay that was not caused by the pool (the customer, a timer). What came
    after it (contention, the night) the simulated queue and calendar reproduce. When that
    moment is a shift's end and the task started after the next shift opened, the delay ended
    somewhere off shift: the middle of those hours is taken.
    """
    n = start.size
    times = np.concatenate([start, end])
    step = np.concatenate([np.ones(n), -np.ones(n)])
    order = np.lexsort((step, times))  # at equal times ends (-1) come before starts (+1)
    times, step = times[order], step[order]
    busy = np.cumsum(step)  # tasks in hand just after each change
    # Off shift nobody takes work, but the question is whether the pool had room at all.
    room = np.where(slots > 0, slots, slots.max())
    idle = busy < room[_slots(times)]
    # End of the latest idle interval that ended by each change point.
    next_time = np.append(times[1:], np.inf)
    # Only room that lasted counts: a slot freed and taken at once was never room to spare.
    idle &= next_time > times
    last_idle_end = np.maximum.accumulate(np.where(idle, next_time, -np.inf))
    k = np.searchsorted(times, start, side="left") - 1  # the last change strictly before start
    valid = k >= 0
    latest = np.full(n, -np.inf)
    # "strictly before": a task starting as the shift opens was not idle-waiting overnight
    latest[valid] = cal.last_on_array(np.minimum(last_idle_end[k[valid]], start[valid]) - 1e-3)
    # Room at the end of a shift, and the task started only after the next shift opened: the
    # delay ended somewhere in the hours off shift between; take the middle of them.
    opens = cal.next_on_array(latest + 1e-3)
    night = (opens > latest + 1.0) & (opens <= start)
    latest = np.where(night, (latest + opens) / 2, latest)
    en = np.where(np.isnan(enable), start, enable)
    return np.clip(latest - en, 0.0, np.maximum(start - en, 0.0))


def _routing(events: pl.DataFrame, n: int) -> np.ndarray:
    counts = np.zeros((n + 1, n + 1))
    pairs = (
        events.select(
            pl.col(A).cast(pl.Int64).alias("src"),
            pl.col("__next").cast(pl.Int64).fill_null(n).alias("dst"),
        )
        .group_by("src", "dst")
        .len()
    )
    for src, dst, k in pairs.iter_rows():
        counts[src, dst] += k
    starts = events.filter(pl.col("__first"))[A].cast(pl.Int64).to_numpy()
    counts[n, :n] += np.bincount(starts, minlength=n)
    rows = counts.sum(axis=1, keepdims=True)
    routing = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    routing[rows[:, 0] == 0, n] = 1.0  # never seen: ends (cannot happen for seen activities)
    return routing


def _pools(
    events: pl.DataFrame,
    log: EventLog,
    names: list[str],
    pools: Mapping[str, str] | None,
    pool_attribute: str | None,
) -> tuple[dict[str, str], dict[str, list[str]]]:
    given = dict(pools or {})
    for act in given:
        if act not in names:
            raise InvalidParameterError(
                f"pools: unknown activity {act!r}; the log has: {', '.join(names)}"
            )
    act_pool: dict[str, str] = {}
    if pool_attribute is not None:
        if pool_attribute not in log.attributes:
            raise InvalidParameterError(
                f"pool attribute {pool_attribute!r} is not in the log; its attributes are: "
                f"{', '.join(log.attributes) or 'none'}"
            )
        modes = (
            events.group_by(A, pl.col(pool_attribute).cast(pl.String).fill_null("unknown"))
            .len()
            .sort(A, "len", pool_attribute, descending=[False, True, False])
            .group_by(A, maintain_order=True)
            .first()
        )
        for code, pool, _ in modes.iter_rows():
            act_pool[names[code]] = str(pool)
    elif log.has_resource:
        act_pool = _shared_resource_pools(events, names)
    else:
        act_pool = {a: a for a in names}
    act_pool.update(given)
    resources: dict[str, list[str]] = {}
    if log.has_resource and log.resource_names is not None:
        res_names = log.resource_names.to_list()
        pool_of_act = pl.DataFrame(
            {A: list(range(len(names))), "__pool": [act_pool[a] for a in names]},
            schema={A: events.schema[A], "__pool": pl.String},
        )
        main = (
            events.join(pool_of_act, on=A)
            .group_by(R, "__pool")
            .len()
            .sort(R, "len", "__pool", descending=[False, True, False])
            .group_by(R, maintain_order=True)
            .first()
        )
        for code, pool, _ in main.iter_rows():
            if code is not None:
                resources.setdefault(pool, []).append(str(res_names[code]))
    return act_pool, resources


def _shared_resource_pools(events: pl.DataFrame, names: list[str]) -> dict[str, str]:
    """Activities whose work the same resources share (overlap >= 50 %) form one pool."""
    n = len(names)
    by = events.filter(pl.col(R).is_not_null()).group_by(A, R).len()
    share: dict[int, dict[int, float]] = {}
    for code, res, k in by.iter_rows():
        share.setdefault(code, {})[res] = float(k)
    for code, d in share.items():
        total = sum(d.values())
        share[code] = {r: v / total for r, v in d.items()}
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a in range(n):
        for b in range(a + 1, n):
            sa, sb = share.get(a, {}), share.get(b, {})
            overlap = sum(min(v, sb.get(r, 0.0)) for r, v in sa.items())
            if overlap >= _SHARED:
                parent[find(a)] = find(b)
    groups: dict[int, list[int]] = {}
    for a in range(n):
        groups.setdefault(find(a), []).append(a)
    sizes = events.group_by(A).len()
    size = {int(code): int(k) for code, k in sizes.iter_rows()}
    out: dict[str, str] = {}
    for members in groups.values():
        # A pool is named after the activity it does most (an activity name also finds it).
        label = names[max(members, key=lambda m: (size.get(m, 0), -m))]
        for m in members:
            out[names[m]] = label
    return out


def _given_hours(
    working_hours: str | Mapping[str, str] | None, pool_names: list[str]
) -> dict[str, np.ndarray]:
    if working_hours is None:
        return {}
    if isinstance(working_hours, str):
        mask = parse_hours(working_hours)
        return dict.fromkeys(pool_names, mask)
    out = {}
    for pool, text in working_hours.items():
        if pool not in pool_names:
            raise InvalidParameterError(
                f"working hours: unknown pool {pool!r}; the pools are: {', '.join(pool_names)}"
            )
        out[pool] = parse_hours(text)
    return out


def _hour_of_week(epoch_us: pl.Series, time_zone: str) -> np.ndarray:
    local = (
        pl.from_epoch(epoch_us, "us").dt.replace_time_zone("UTC").dt.convert_time_zone(time_zone)
    )
    slot = (local.dt.weekday().cast(pl.Int64) - 1) * 24 + local.dt.hour().cast(pl.Int64)
    return slot.to_numpy()


def _slots(clock: np.ndarray) -> np.ndarray:
    return ((clock // 3600).astype(np.int64)) % HOURS_PER_WEEK


def _working_hours(slots: np.ndarray) -> np.ndarray:
    """The fewest hours of the week holding 98 % of the work starts."""
    counts = np.bincount(slots, minlength=HOURS_PER_WEEK)
    order = np.argsort(-counts, kind="stable")
    cum = np.cumsum(counts[order])
    keep = int(np.searchsorted(cum, _COVERAGE * cum[-1]) + 1)
    mask = np.zeros(HOURS_PER_WEEK, dtype=bool)
    mask[order[:keep]] = True
    mask &= counts > 0
    return mask


def _staff(work: pl.DataFrame, has_resource: bool) -> int:
    if has_resource:
        weekly = (
            work.filter(pl.col(R).is_not_null())
            .group_by((pl.col("__start") // WEEK_US).alias("__week"))
            .agg(pl.col(R).n_unique().alias("k"))
        )
        if weekly.height:
            return max(1, round(float(np.median(weekly["k"].to_numpy()))))
    starts = np.sort(work["__start"].to_numpy())
    ends = np.sort(work[T].to_numpy())
    busy = np.searchsorted(starts, starts, side="right") - np.searchsorted(
        ends, starts, side="right"
    )
    return max(1, int(np.ceil(np.quantile(busy, 0.95)))) if busy.size else 1


def _week_origin(first_us: int, time_zone: str) -> int:
    """UTC epoch microseconds of the local Monday 00:00 on or before ``first_us``."""
    local = (
        pl.from_epoch(pl.Series([first_us]), "us")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(time_zone)
    )
    monday = local.dt.truncate("1w")  # Polars weeks start on Monday
    return int(monday.dt.convert_time_zone("UTC").dt.epoch("us")[0])


def _observed(
    events: pl.DataFrame, names: list[str], first: pl.DataFrame, weeks: float, log: EventLog
) -> dict[str, Any]:
    """What the log itself shows, to set beside the as-is simulation."""
    cases = events.group_by(C).agg(
        ((pl.col(T).max() - pl.col("__arrival").first()) / US).alias("ct")
    )
    ct = cases["ct"].to_numpy()
    waits = (
        events.filter(~pl.col("__first")).group_by(A).agg((pl.col("__wait").mean() / US).alias("w"))
    )
    return {
        "observed": {
            "cases_per_week": first.height / max(weeks, 1e-9),
            "cycle_time_mean_seconds": float(ct.mean()),
            "cycle_time_median_seconds": float(np.median(ct)),
            "cycle_time_p90_seconds": float(np.quantile(ct, 0.9)),
            "cycle_time_p80_seconds": float(np.quantile(ct, 0.8)),
            "waiting_seconds": {names[code]: float(w) for code, w in waits.iter_rows()},
        }
    }
