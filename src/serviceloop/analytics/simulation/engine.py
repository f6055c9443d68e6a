"""The discrete-event engine: case trajectories drawn up front, then queues over pools.

Every random number of a replication is drawn before the clock starts, with NumPy, in three
independent streams (arrivals, routing, processing times): arrival times from the hourly rates
(a Poisson count per hour of the horizon, spread uniformly within it), each case's path through
the routing chain, and each task's processing time from its activity's sample. So a run is
reproducible from its seed, and two scenarios run with the same seed share their random numbers
(common random numbers: their difference has far less noise than either).

The clock then moves from event to event (a heap of completions, ends of extraneous delays and
shift starts; arrivals are already sorted): a task, after its extraneous delay, joins its pool's first-in-first-out queue and starts when the pool has
fewer busy slots than it has on shift in that hour of the week (resources x multitasking).
Processing times are working time: work not finished at the end of a shift pauses, holding its
resource, and goes on at the next shift; queued work waits for the next hour with room. :func:`run_simpy` runs the same model on SimPy, as the reference the tests hold
this engine to; this one is several times faster.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from ._calendar import Calendar
from .model import HOURS_PER_WEEK, SimulationModel

__all__ = ["Run", "Trajectories", "draw_trajectories", "run", "run_simpy"]

HOUR = 3600.0
MAX_STEPS = 1000


@dataclass(frozen=True)
class Trajectories:
    """Pre-drawn cases: arrival times, and per task its case, activity and processing time."""

    arrival: np.ndarray  # float seconds, sorted, one per case
    offsets: np.ndarray  # int, len n_cases + 1: tasks of case i are offsets[i]:offsets[i+1]
    activity: np.ndarray  # int activity code per task
    duration: np.ndarray  # float working seconds per task
    delay: np.ndarray  # float clock seconds before the task queues (extraneous delay)
    truncated: int = 0  # cases whose path hit MAX_STEPS (cut there)

    @property
    def n_cases(self) -> int:
        return int(self.arrival.size)

    @property
    def case_of_task(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_cases), np.diff(self.offsets))


@dataclass(frozen=True)
class Run:
    """What one replication produced: per task its ready, start and end times (NaN: never)
    and the slot of its pool that worked it (-1: never started)."""

    trajectories: Trajectories
    ready: np.ndarray
    start: np.ndarray
    end: np.ndarray
    stop: float
    slot: np.ndarray | None = None


def draw_trajectories(
    model: SimulationModel, seed: np.random.SeedSequence, horizon: float
) -> Trajectories:
    """Draw every case arriving in ``[0, horizon)`` seconds, its path and its task durations."""
    s_arr, s_route, s_dur = (np.random.default_rng(s) for s in seed.spawn(3))
    hours = math.ceil(horizon / HOUR)
    rates = np.resize(model.arrivals, hours)
    per_hour = s_arr.poisson(rates)
    hour_of_case = np.repeat(np.arange(hours, dtype=np.float64), per_hour)
    arrival = np.sort((hour_of_case + s_arr.random(hour_of_case.size)) * HOUR)
    arrival = arrival[arrival < horizon]
    n_cases = arrival.size
    n = len(model.activities)
    cum = np.cumsum(model.routing, axis=1)
    cum[:, -1] = 1.0
    cases_parts: list[np.ndarray] = []
    acts_parts: list[np.ndarray] = []
    active = np.arange(n_cases)
    state = np.full(n_cases, n)
    truncated = 0
    for step in range(MAX_STEPS + 1):
        if active.size == 0:
            break
        u = s_route.random(active.size)
        nxt = (u[:, None] >= cum[state]).sum(axis=1)
        nxt = np.minimum(nxt, n)
        if step == MAX_STEPS:
            truncated = int((nxt < n).sum())
            break
        keep = nxt < n
        active, state = active[keep], nxt[keep]
        cases_parts.append(active)
        acts_parts.append(state)
    case_of_task = np.concatenate(cases_parts) if cases_parts else np.zeros(0, np.int64)
    activity = np.concatenate(acts_parts) if acts_parts else np.zeros(0, np.int64)
    order = np.argsort(case_of_task, kind="stable")  # steps were appended in order
    case_of_task, activity = case_of_task[order], activity[order]
    offsets = np.zeros(n_cases + 1, dtype=np.int64)
    np.cumsum(np.bincount(case_of_task, minlength=n_cases), out=offsets[1:])
    u = s_dur.random(activity.size)
    v = s_dur.random(activity.size)
    duration = np.empty(activity.size)
    delay = np.zeros(activity.size)
    for code, act in enumerate(model.activities):
        sel = activity == code
        if not sel.any():
            continue
        q = act.durations
        duration[sel] = np.interp(u[sel] * (q.size - 1), np.arange(q.size), q)
        d = act.delays
        if d.size > 1 or d[0] > 0:
            delay[sel] = np.interp(v[sel] * (d.size - 1), np.arange(d.size), d)
    delay[offsets[:-1][np.diff(offsets) > 0]] = 0.0  # a case's first task starts on arrival
    return Trajectories(arrival, offsets, activity, duration, delay, truncated)


def _capacity_tables(model: SimulationModel) -> tuple[list[list[int]], list[list[int]], list[int]]:
    """Per pool: capacity per hour of the week, and hours until the next rise in capacity."""
    caps, rises = [], []
    for pool in model.pools:
        cap = [int(x) for x in pool.slots]
        rise = []
        for s in range(HOURS_PER_WEEK):
            k = next(
                (d for d in range(1, HOURS_PER_WEEK + 1) if cap[(s + d) % HOURS_PER_WEEK] > cap[s]),
                0,
            )
            rise.append(k)
        caps.append(cap)
        rises.append(rise)
    index = {p.name: i for i, p in enumerate(model.pools)}
    act_pool = [index[a.pool] for a in model.activities]
    return caps, rises, act_pool


def run(model: SimulationModel, traj: Trajectories, *, stop: float) -> Run:
    """Simulate the pre-drawn cases on the model's pools until ``stop`` seconds at the latest."""
    caps, rises, act_pool = _capacity_tables(model)
    finish = [Calendar(p.capacity > 0).finisher() for p in model.pools]
    n_tasks = int(traj.activity.size)
    task_pool = [act_pool[a] for a in traj.activity.tolist()]
    dur = traj.duration.tolist()
    delay = traj.delay.tolist()
    last = np.zeros(n_tasks, dtype=bool)
    last[traj.offsets[1:][np.diff(traj.offsets) > 0] - 1] = True
    is_last = last.tolist()
    first_task = traj.offsets[:-1].tolist()
    arrivals = traj.arrival.tolist()
    nan = math.nan
    ready = [nan] * n_tasks
    start = [nan] * n_tasks
    end = [nan] * n_tasks
    n_pools = len(caps)
    busy = [0] * n_pools
    slot_of = [-1] * n_tasks
    # Free slots per pool as a min-heap: the lowest free slot k ("resource k") works next.
    free: list[list[int]] = [list(range(max(c))) for c in caps]
    queues: list[deque[int]] = [deque() for _ in range(n_pools)]
    inf = math.inf
    wake_at = [inf] * n_pools
    heap: list[tuple[float, int]] = []
    push, pop = heapq.heappush, heapq.heappop

    def dispatch(p: int, t: float) -> None:
        q = queues[p]
        if not q:
            return
        hour = int(t // HOUR)
        slot = hour % HOURS_PER_WEEK
        c = caps[p][slot]
        b = busy[p]
        fin = finish[p]
        slots = free[p]
        while q and b < c:
            x = q.popleft()
            start[x] = t
            b += 1
            slot_of[x] = pop(slots)
            push(heap, (fin(t, dur[x]), x))
        busy[p] = b
        if q:
            k = rises[p][slot]
            if k:
                w = (hour + k) * HOUR
                if w < wake_at[p]:
                    wake_at[p] = w
                    push(heap, (w, -p - 1))

    n_cases = len(arrivals)
    ai = 0
    next_arrival = arrivals[0] if n_cases else inf
    while True:
        if heap and heap[0][0] <= next_arrival:
            t, x = pop(heap)
            if t > stop:
                break
            if x >= n_tasks:  # an extraneous delay is over: the task queues
                x -= n_tasks
                q = task_pool[x]
                queues[q].append(x)
                dispatch(q, t)
            elif x >= 0:
                end[x] = t
                p = task_pool[x]
                busy[p] -= 1
                push(free[p], slot_of[x])
                dispatch(p, t)
                if not is_last[x]:
                    nx = x + 1
                    ready[nx] = t
                    d = delay[nx]
                    if d > 0.0:
                        push(heap, (t + d, nx + n_tasks))
                    else:
                        q = task_pool[nx]
                        queues[q].append(nx)
                        dispatch(q, t)
            else:
                p = -x - 1
                wake_at[p] = inf
                dispatch(p, t)
        elif ai < n_cases:
            t = next_arrival
            if t > stop:
                break
            x = first_task[ai]
            ai += 1
            next_arrival = arrivals[ai] if ai < n_cases else inf
            ready[x] = t
            q = task_pool[x]
            queues[q].append(x)
            dispatch(q, t)
        else:
            break
    return Run(traj, np.array(ready), np.array(start), np.array(end), stop, np.array(slot_of))


def run_simpy(model: SimulationModel, traj: Trajectories, *, stop: float) -> Run:
    """The same simulation written the textbook way on SimPy (pools = ``simpy.Resource``).

    Only for pools that are on shift in every hour with a constant head count: SimPy's
    resources have no working calendar. Used to check :func:`run` and to measure it.
    """
    import simpy

    from ..errors import InvalidParameterError

    for pool in model.pools:
        if pool.slots.min() != pool.slots.max() or pool.slots.min() < 1:
            raise InvalidParameterError(
                f"run_simpy needs pools on shift around the clock; {pool.name!r} is not"
            )
    env = simpy.Environment()
    resources = {p.name: simpy.Resource(env, capacity=int(p.slots[0])) for p in model.pools}
    pool_of = [resources[a.pool] for a in model.activities]
    n_tasks = int(traj.activity.size)
    ready = np.full(n_tasks, np.nan)
    start = np.full(n_tasks, np.nan)
    end = np.full(n_tasks, np.nan)
    acts = traj.activity.tolist()
    dur = traj.duration.tolist()
    delay = traj.delay.tolist()

    def case(first: int, last: int):  # type: ignore[no-untyped-def]
        for x in range(first, last):
            ready[x] = env.now
            if delay[x] > 0.0:
                yield env.timeout(delay[x])
            with pool_of[acts[x]].request() as req:
                yield req
                start[x] = env.now
                yield env.timeout(dur[x])
            end[x] = env.now

    def source():  # type: ignore[no-untyped-def]
        offsets = traj.offsets.tolist()
        for i, t in enumerate(traj.arrival.tolist()):
            yield env.timeout(t - env.now)
            env.process(case(offsets[i], offsets[i + 1]))

    env.process(source())
    env.run(until=stop)
    return Run(traj, ready, start, end, stop)
