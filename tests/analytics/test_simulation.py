"""Simulation: queueing theory, the SimPy reference, reproducibility, what-if changes, bad input."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import polars as pl
import pytest

from serviceloop.analytics import InvalidParameterError, from_polars, read_csv
from serviceloop.analytics.simulation import (
    ActivityModel,
    ModelDiscoveryError,
    PoolModel,
    SimulationModel,
    discover_model,
    mmc_model,
    parse_change,
    parse_scenario,
    simulate,
)
from serviceloop.analytics.simulation.engine import draw_trajectories, run, run_simpy
from serviceloop.analytics.simulation.model import exponential_sample, parse_hours
from serviceloop.analytics.simulation.scenarios import RemoveRework, RemoveStage, Route
from serviceloop.analytics.simulation.validation import simulate_log

from .conftest import HELPDESK


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of M/M/c (textbook formula, written out here on purpose)."""
    a = lam / mu
    top = a**c / math.factorial(c) * c / (c - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


# -- queueing theory ------------------------------------------------------------------------------
@pytest.mark.parametrize(("servers", "lam", "service"), [(1, 4.0, 600.0), (3, 10.0, 900.0)])
def test_mmc_waiting_matches_erlang_c_within_the_confidence_interval(servers, lam, service):
    model = mmc_model(arrivals_per_hour=lam, mean_service_seconds=service, servers=servers)
    res = simulate(model, replications=12, seed=7, weeks=12, warmup_weeks=1)
    wait = res.as_is.waiting["Serve"]
    expected = erlang_c_wait(lam / 3600, 1 / service, servers)
    assert wait.low <= expected <= wait.high, (wait, expected)
    util = res.as_is.utilisation["Servers"]
    assert util.low <= lam * service / 3600 / servers <= util.high


def test_more_staff_never_increases_waiting_in_mmc():
    model = mmc_model(arrivals_per_hour=10, mean_service_seconds=900, servers=3)
    scenarios = [parse_scenario(f"c{k}: staff Servers={k}") for k in (4, 5, 6)]
    res = simulate(model, scenarios, replications=5, seed=3, weeks=6, warmup_weeks=1)
    runs = [res.as_is, *res.scenarios]
    for r in range(5):
        waits = [s.waiting["Serve"].values[r] for s in runs]
        assert all(a >= b for a, b in itertools.pairwise(waits)), waits
    assert res.scenarios[0].waiting_difference["Serve"].high < 0


def _network_model() -> SimulationModel:
    rng = np.random.default_rng(5)
    acts = tuple(
        ActivityModel(
            name,
            pool,
            np.sort(rng.gamma(2.0, mean / 2, 501)),
            delays=np.sort(rng.exponential(delay, 501)) if delay else np.zeros(1),
        )
        for name, pool, mean, delay in [
            ("Triage", "Front", 300.0, 0.0),
            ("Fix", "Experts", 2400.0, 600.0),
            ("Check", "Front", 600.0, 0.0),
        ]
    )
    routing = np.array(
        [
            [0.0, 0.9, 0.0, 0.1],
            [0.0, 0.05, 0.95, 0.0],
            [0.0, 0.2, 0.0, 0.8],
            [1.0, 0.0, 0.0, 0.0],
        ]
    )
    return SimulationModel(
        activities=acts,
        routing=routing,
        arrivals=np.full(168, 2.0),
        pools=(
            PoolModel("Front", np.full(168, 2, dtype=np.int64)),
            PoolModel("Experts", np.full(168, 3, dtype=np.int64)),
        ),
    )


def test_fast_engine_reproduces_simpy_task_by_task():
    model = _network_model()
    traj = draw_trajectories(model, np.random.SeedSequence(11), 3 * 7 * 86400.0)
    fast = run(model, traj, stop=8 * 7 * 86400.0)
    ref = run_simpy(model, traj, stop=8 * 7 * 86400.0)
    assert traj.n_cases > 900
    np.testing.assert_allclose(fast.start, ref.start, rtol=0, atol=1e-6)
    np.testing.assert_allclose(fast.end, ref.end, rtol=0, atol=1e-6)
    res = simulate(model, replications=2, seed=1, weeks=2, warmup_weeks=0.5, engine="simpy")
    assert res.settings["engine"] == "simpy"


def test_simpy_reference_refuses_calendars():
    model = _network_model()
    hours = parse_change("hours Mon-Fri 08-18").apply(model)
    with pytest.raises(InvalidParameterError, match="around the clock"):
        simulate(hours, replications=1, weeks=1, engine="simpy")


def test_working_hours_pause_work_off_shift():
    model = mmc_model(arrivals_per_hour=1, mean_service_seconds=7200, servers=1)
    office = parse_change("hours Mon-Fri 09-17").apply(model)
    traj = draw_trajectories(office, np.random.SeedSequence(2), 2 * 7 * 86400.0)
    res = run(office, traj, stop=6 * 7 * 86400.0)
    starts = res.start[~np.isnan(res.start)]
    slot = (starts // 3600).astype(int) % 168
    assert parse_hours("Mon-Fri 09-17")[slot].all()  # work starts only on shift
    # and working time spent equals the drawn processing time, whatever the nights between
    from serviceloop.analytics.simulation._calendar import Calendar

    cal = Calendar(office.pools[0].capacity > 0)
    done = ~np.isnan(res.end)
    spent = cal.to_work_array(res.end[done]) - cal.to_work_array(res.start[done])
    np.testing.assert_allclose(spent, traj.duration[done], atol=1e-6)


# -- reproducibility ----------------------------------------------------------------------------
def test_same_seed_same_numbers_other_seed_other_numbers():
    model = _network_model()
    scen = [parse_scenario("faster: duration Fix=-20%")]
    a = simulate(model, scen, replications=3, seed=42, weeks=3, warmup_weeks=1).to_dict()
    b = simulate(model, scen, replications=3, seed=42, weeks=3, warmup_weeks=1).to_dict()
    c = simulate(model, scen, replications=3, seed=43, weeks=3, warmup_weeks=1).to_dict()
    assert a == b
    assert a["as_is"]["measures"] != c["as_is"]["measures"]


# -- what-if changes ---------------------------------------------------------------------------
def test_changes_combine_and_move_the_measures_the_right_way():
    model = _network_model()
    scenarios = [
        parse_scenario("faster fix: duration Fix=-30%"),
        parse_scenario("no rework: no-rework"),
        parse_scenario("busier: arrivals +40%"),
        parse_scenario("all: duration Fix=-30%; no-rework; staff Experts=+1"),
    ]
    res = simulate(model, scenarios, replications=4, seed=5, weeks=4, warmup_weeks=1)
    diff = {s.name: s.difference for s in res.scenarios}
    assert diff["faster fix"]["cycle_time_mean_seconds"].high < 0
    assert diff["no rework"]["cycle_time_mean_seconds"].high < 0
    assert diff["busier"]["throughput_per_week"].low > 0
    assert res.scenarios[2].utilisation_difference["Experts"].low > 0
    assert (
        diff["all"]["cycle_time_mean_seconds"].mean
        < diff["faster fix"]["cycle_time_mean_seconds"].mean
    )
    assert res.scenarios[3].changes == ("duration Fix: -30%", "no rework", "staff Experts: +1")


def test_rework_edges_and_route_changes_keep_rows_stochastic():
    model = _network_model()
    fix, check = model.activity_index("Fix"), model.activity_index("Check")
    no_loop = Route("Fix", "Fix", 0.0, rework_only=True).apply(model)
    assert no_loop.routing[fix, fix] == 0.0
    assert no_loop.routing[fix, check] == pytest.approx(1.0)
    cleaned = RemoveRework().apply(model)
    assert cleaned.routing[check, fix] == 0.0 and cleaned.routing[fix, fix] == 0.0
    np.testing.assert_allclose(cleaned.routing.sum(axis=1), 1.0)
    with pytest.raises(InvalidParameterError, match="not a rework edge"):
        Route("Triage", "Fix", 0.5, rework_only=True).apply(model)


def test_removing_a_stage_sends_its_cases_on():
    model = _network_model()
    out = RemoveStage("Check").apply(model)
    assert out.activity_names == ["Triage", "Fix"]
    fix = out.activity_index("Fix")
    # Fix went to Check (0.95), Check ended 80 % of the time and sent 20 % back to Fix
    assert out.routing[fix, 2] == pytest.approx(0.95 * 0.8)
    assert out.routing[fix, fix] == pytest.approx(0.05 + 0.95 * 0.2)
    merged = parse_change("merge Fix+Check").apply(model)
    assert merged.activity_names == ["Triage", "Fix"]
    assert merged.activities[1].mean_seconds > model.activities[1].mean_seconds


def test_arrival_pattern_keeps_the_weekly_total():
    model = _network_model()
    out = parse_change("pattern Sat-Sun 00-24=x0").apply(model)
    assert out.arrivals.sum() == pytest.approx(model.arrivals.sum())
    assert out.arrivals[5 * 24 :].sum() == 0
    assert parse_change("arrivals Mon 09-12=+50%").apply(model).arrivals[9] == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("staff Nobody=+1", "unknown pool 'Nobody'"),
        ("staff Front=-2", "nobody on shift"),
        ("duration Fix=fast", "not a change such as -20%"),
        ("route Fix->Nowhere=0.1", "unknown activity 'Nowhere'"),
        ("route Fix->Check=1.5", "between 0 and 1"),
        ("hours Mon-Fri 18-08", "hours must run 00-24"),
        ("teleport Fix", "unknown change 'teleport'"),
    ],
)
def test_bad_changes_get_a_clear_error(text, message):
    with pytest.raises(InvalidParameterError, match=message):
        parse_change(text).apply(_network_model())


# -- discovery ----------------------------------------------------------------------------------
def test_discovery_recovers_a_simulated_start_and_complete_log():
    truth = _network_model()
    frame = simulate_log(truth, weeks=20, warmup_weeks=2, seed=9)
    log = from_polars(frame, resource="resource")
    assert log.has_start
    model = discover_model(log, pools={"Triage": "Front", "Check": "Front", "Fix": "Experts"})
    assert model.cases_per_week == pytest.approx(truth.cases_per_week, rel=0.05)
    for act in truth.activities:
        got = model.activities[model.activity_index(act.name)]
        assert got.mean_seconds == pytest.approx(act.mean_seconds, rel=0.08)
    fix = model.activity_index("Fix")
    assert model.routing[fix, fix] == pytest.approx(0.05, abs=0.02)
    assert {p.name for p in model.pools} == {"Front", "Experts"}


def test_discovery_on_the_helpdesk_log():
    log = read_csv(
        HELPDESK,
        case="Case ID",
        activity="Activity",
        timestamp="Complete Timestamp",
        resource="Resource",
        duplicates="keep",
    )
    model = discover_model(log)
    assert len(model.activities) == 14
    # The rate of the last eight weeks: the help desk's volume fell to two new cases a day.
    firsts = (
        pl.read_csv(HELPDESK)
        .group_by("Case ID")
        .agg(pl.col("Complete Timestamp").str.to_datetime().min().alias("first"))["first"]
    )
    recent = (firsts > firsts.max() - dt.timedelta(weeks=8)).sum()
    assert model.cases_per_week == pytest.approx(recent / 8)
    assert model.info["arrivals"]["rule"] == "the rate of the last 8 weeks"
    whole = discover_model(log, arrival_weeks=None)
    assert whole.cases_per_week == pytest.approx(4580 / model.info["weeks"], rel=0.01)
    assert model.cases_per_week < 0.7 * whole.cases_per_week
    # The same weekly pattern at another level.
    assert np.allclose(model.arrivals / model.cases_per_week, whole.arrivals / whole.cases_per_week)
    assert model.info["starts"] == "estimated from resource availability"
    by_team = discover_model(log, pool_attribute="workgroup", working_hours="Mon-Fri 08-18")
    assert all(p.describe_hours() == "Mon-Fri 08-18" for p in by_team.pools)
    res = simulate(model, replications=2, seed=1, weeks=8, warmup_weeks=2)
    observed = model.info["observed"]["cycle_time_median_seconds"]
    assert 0.5 * observed < res.as_is.measures["cycle_time_median_seconds"].mean < 2 * observed


def test_a_log_too_small_gets_a_clear_error():
    frame = pl.DataFrame(
        {
            "case_id": ["a", "a", "b", "b"],
            "activity": ["Open", "Close", "Open", "Close"],
            "timestamp": [
                "2024-01-01 09:00",
                "2024-01-01 10:00",
                "2024-01-02 09:00",
                "2024-01-02 11:00",
            ],
        }
    )
    with pytest.raises(ModelDiscoveryError, match=r"too small .* 2 case\(s\), at least 30 needed"):
        discover_model(from_polars(frame))


def test_discovery_rejects_unknown_names():
    log = read_csv(
        HELPDESK,
        case="Case ID",
        activity="Activity",
        timestamp="Complete Timestamp",
        resource="Resource",
        duplicates="keep",
    )
    with pytest.raises(InvalidParameterError, match="pool attribute 'team' is not in the log"):
        discover_model(log, pool_attribute="team")
    with pytest.raises(InvalidParameterError, match="unknown time zone"):
        discover_model(log, time_zone="Mars/Olympus")


def test_discovered_model_reproduces_a_known_process_with_calendars_and_delays():
    """Ground truth: office hours, a one-day customer delay before closing, a rework loop.

    The log made from it (start and completion times, individual resources, a team column)
    must give back the staff, the delay and the cycle time of the process that made it.
    """
    truth = parse_change("hours Mon-Fri 08-18").apply(_network_model())
    rng = np.random.default_rng(3)
    acts = list(truth.activities)
    acts[2] = ActivityModel(
        "Check", "Front", acts[2].durations, delays=np.sort(rng.exponential(86400, 2001))
    )
    truth = truth.with_(activities=tuple(acts), arrivals=truth.arrivals * 0.3)
    frame = simulate_log(truth, weeks=26, warmup_weeks=2, seed=4)
    model = discover_model(from_polars(frame, resource="resource"), pool_attribute="pool")
    assert {p.name: p.staff for p in model.pools} == {"Front": 2, "Experts": 3}
    check = model.activities[model.activity_index("Check")]
    assert float(check.delays.mean()) == pytest.approx(86400, rel=0.15)

    # The log shows cases from their first start: compare logs with logs.
    def durations(f: pl.DataFrame) -> pl.Series:
        per_case = f.group_by("case_id").agg(
            (pl.col("timestamp").max() - pl.col("start_timestamp").min()).dt.total_seconds()
        )
        return per_case["timestamp"]

    real = durations(frame)
    again = durations(simulate_log(model, weeks=26, warmup_weeks=2, seed=5))
    assert again.mean() == pytest.approx(real.mean(), rel=0.15)
    assert again.quantile(0.9) == pytest.approx(real.quantile(0.9), rel=0.2)


def test_removing_a_first_stage_drops_cases_that_had_nothing_else():
    model = _network_model()
    # 10 % of cases were Triage only: without Triage they have nothing left to do
    out = RemoveStage("Triage").apply(model)
    assert out.routing[-1, -1] == 0.0
    np.testing.assert_allclose(out.routing.sum(axis=1), 1.0)
    assert out.cases_per_week == pytest.approx(model.cases_per_week * 0.9)


def test_parallel_replications_give_the_same_numbers():
    model = _network_model()
    scen = [parse_scenario("faster: duration Fix=-20%")]
    kw = {"replications": 3, "seed": 9, "weeks": 2, "warmup_weeks": 0.5}
    one = simulate(model, scen, **kw).to_dict()
    two = simulate(model, scen, workers=2, **kw).to_dict()
    one["settings"].pop("workers"), two["settings"].pop("workers")
    assert one == two


def test_working_time_conversions_round_trip():
    from serviceloop.analytics.simulation._calendar import Calendar

    cal = Calendar(parse_hours("Mon-Fri 09-17; Sat 10-12"))
    assert cal.per_week == (5 * 8 + 2) * 3600
    rng = np.random.default_rng(1)
    t = rng.uniform(7 * 86400, 5 * 7 * 86400, 2000)  # from the second week: a shift before
    on = cal.mask[((t // 3600) % 168).astype(int)]
    back = np.array([cal.from_work(cal.to_work(x)) for x in t])
    np.testing.assert_allclose(back[on], t[on], atol=1e-6)  # on shift: the same moment
    last = cal.last_on_array(t[~on])  # off shift: the end of the shift before
    assert (last < t[~on]).all() and cal.mask[((last - 1) // 3600 % 168).astype(int)].all()
    np.testing.assert_allclose(back[~on], last, atol=1e-6)
    opens = cal.next_on_array(t[~on])
    assert (opens > t[~on]).all() and cal.mask[(opens // 3600 % 168).astype(int)].all()
    np.testing.assert_allclose(cal.to_work_array(t), [cal.to_work(x) for x in t], atol=1e-6)
    finish = cal.finisher()
    assert finish(16 * 3600 + 9 * 3600 - 9 * 3600, 2 * 3600) == cal.finish(16 * 3600, 2 * 3600)
    assert cal.finish(4 * 86400 + 16 * 3600, 3 * 3600) == 5 * 86400 + 12 * 3600  # Fri -> Sat 12:00


# -- a busy team queues; arrivals at the log's recent rate ------------------------------------
def test_a_fraction_of_an_extra_slot_is_open_that_fraction_of_the_hours():
    office = parse_hours("Mon-Fri 09-18").astype(np.int64) * 3
    for multitasking in (1.0, 1.04, 1.5, 2.25):
        slots = PoolModel("Team", office, (), multitasking).slots
        on = office > 0
        assert (slots[~on] == 0).all()
        assert slots[on].min() == math.floor(3 * multitasking + 1e-9)
        assert slots[on].max() <= math.ceil(3 * multitasking - 1e-9)
        assert slots[on].mean() == pytest.approx(3 * multitasking, abs=1 / on.sum())
    # three people holding 1.04 tasks each: a fourth slot in 12 % of their hours, not in all
    on = office > 0
    fourth = (PoolModel("Team", office, (), 1.04).slots[on] == 4).mean()
    assert fourth == pytest.approx(0.12, abs=1 / on.sum())


def _busy_team_log(rho: float, *, seed: int = 5, starts: bool = False) -> pl.DataFrame:
    """A log of Open (a large front pool) then Design (3 experts busy ``rho`` of the time),
    with completion times only unless ``starts``."""
    service = 4860.0
    truth = SimulationModel(
        activities=(
            ActivityModel("Open", "Front", exponential_sample(60.0)),
            ActivityModel("Design", "Experts", exponential_sample(service)),
        ),
        routing=np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
        arrivals=np.full(168, rho * 3 * 3600 / service),
        pools=(
            PoolModel("Front", np.full(168, 20, dtype=np.int64)),
            PoolModel("Experts", np.full(168, 3, dtype=np.int64)),
        ),
    )
    frame = simulate_log(truth, weeks=16, warmup_weeks=2, seed=seed)
    if starts:
        return frame.select("case_id", "activity", "start_timestamp", "timestamp", "resource")
    return frame.select("case_id", "activity", "timestamp", "resource")


def test_a_team_busy_90_percent_of_its_hours_queues_and_more_staff_shortens_the_queue():
    frame = _busy_team_log(0.9)
    log = from_polars(frame, resource="resource")
    assert not log.has_start
    model = discover_model(log, pools={"Open": "Front", "Design": "Experts"}, working_hours="24/7")
    experts = model.pool("Experts")
    # busy 90 %, above the 85 % a multitasking team is taken to run at, and yet one task at a
    # time: its work fits its hours
    assert experts.staff == 3 and experts.multitasking == 1.0
    assert (experts.slots == 3).all()
    # Its waits are queueing for the team, not a delay before it: the delay is a sliver.
    design = model.activities[model.activity_index("Design")]
    observed_wait = model.info["observed"]["waiting_seconds"]["Design"]
    assert observed_wait > 3600
    assert design.delays.mean() < 0.1 * observed_wait
    res = simulate(
        model,
        [parse_scenario("two more: staff Experts=+2")],
        replications=4,
        seed=2,
        weeks=12,
        warmup_weeks=2,
    )
    assert res.as_is.utilisation["Experts"].mean == pytest.approx(0.9, abs=0.05)
    wait = res.as_is.waiting["Design"]
    assert 0.5 * observed_wait < wait.mean < 2 * observed_wait, (wait, observed_wait)
    more = res.scenarios[0].waiting["Design"]
    assert more.mean < 0.2 * wait.mean, (more, wait)


def test_work_beyond_a_teams_hours_is_multitasking_at_max_utilisation():
    frame = _busy_team_log(0.9, starts=True)
    # the three experts' work done by one of them, its tasks overlapping: 2.7 people's hours
    frame = frame.with_columns(
        pl.col("resource").replace({"Experts 2": "Experts 1", "Experts 3": "Experts 1"})
    )
    model = discover_model(
        from_polars(frame, resource="resource"),
        pools={"Open": "Front", "Design": "Experts"},
        working_hours="24/7",
    )
    experts = model.pool("Experts")
    assert experts.staff == 1
    # 2.7 people's work on one: 2.7 / 0.85 tasks at once, on average, as many slots
    assert experts.multitasking == pytest.approx(0.9 * 3 / 0.85, rel=0.08)
    assert experts.slots.mean() == pytest.approx(experts.multitasking, abs=0.01)


def test_arrivals_follow_the_logs_recent_rate():
    # A help desk that doubles: 20 new cases in its first week, 40 in its last (Mon-Fri 09-17).
    rows = []
    monday = dt.datetime(2024, 1, 1)
    for week in range(12):
        per_week = 20 + round(20 * week / 11)
        for k in range(per_week):
            day, minute = k % 5, (k // 5) * 37 % 480
            at = monday + dt.timedelta(weeks=week, days=day, hours=9, minutes=minute)
            rows += [
                (f"w{week}c{k}", "Open", at),
                (f"w{week}c{k}", "Close", at + dt.timedelta(hours=2)),
            ]
    log = from_polars(pl.DataFrame(rows, schema=["case_id", "activity", "timestamp"], orient="row"))
    counts = [20 + round(20 * week / 11) for week in range(12)]
    # the last arrival is on a Friday: the last eight weeks start after that Friday eight weeks ago
    model = discover_model(log)
    assert model.info["arrivals"]["rule"] == "the rate of the last 8 weeks"
    assert model.cases_per_week == pytest.approx(sum(counts[-8:]) / 8)
    two = discover_model(log, arrival_weeks=2)
    assert two.cases_per_week == pytest.approx(sum(counts[-2:]) / 2)
    whole = discover_model(log, arrival_weeks=None)
    assert whole.cases_per_week == pytest.approx(sum(counts) / whole.info["weeks"])
    assert whole.cases_per_week < model.cases_per_week < two.cases_per_week
    # the weekly pattern is the whole log's: weekdays 09-17 only
    assert np.allclose(model.arrivals / model.cases_per_week, whole.arrivals / whole.cases_per_week)
    assert model.arrivals[parse_hours("Sat-Sun 00-24")].sum() == 0
    # a window as long as the log is the whole log
    assert discover_model(log, arrival_weeks=52).cases_per_week == whole.cases_per_week
    # the simulated operation runs at the recent rate
    res = simulate(model, replications=3, seed=1, weeks=8, warmup_weeks=1)
    assert res.as_is.measures["throughput_per_week"].mean == pytest.approx(
        model.cases_per_week, rel=0.1
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"arrival_weeks": 0}, "arrival_weeks must be at least 1 week"),
        ({"arrival_weeks": 0.5}, "arrival_weeks must be at least 1 week"),
        ({"max_utilisation": 0}, r"max_utilisation must be in \(0, 1\]"),
        ({"max_utilisation": 1.2}, r"max_utilisation must be in \(0, 1\]"),
    ],
)
def test_discovery_rejects_bad_options(options, message):
    log = from_polars(_busy_team_log(0.5).head(200), resource="resource")
    with pytest.raises(InvalidParameterError, match=message):
        discover_model(log, **options)


def test_offered_load_counts_rework_and_matches_the_simulated_utilisation():
    model = _network_model()
    # Triage once (1), Fix 0.9 / (1 - 0.05 - 0.95 x 0.2) per case, Check 0.95 of Fix's visits
    fix = 0.9 / (1 - 0.05 - 0.95 * 0.2)
    assert model.visits_per_case() == pytest.approx([1.0, fix, 0.95 * fix])
    load = model.offered_load()
    means = {a.name: a.mean_seconds for a in model.activities}
    front = 2.0 * (means["Triage"] + 0.95 * fix * means["Check"]) / (2 * 3600)
    assert load == pytest.approx({"Front": front, "Experts": 2.0 * fix * means["Fix"] / (3 * 3600)})
    res = simulate(model, replications=4, seed=3, weeks=8, warmup_weeks=1)
    for pool, value in load.items():
        util = res.as_is.utilisation[pool]
        assert value == pytest.approx(util.mean, rel=0.05), (pool, value, util)
    # One expert fewer and the experts cannot keep up: their work exceeds their hours.
    assert parse_scenario("s: staff Experts=-2").apply(model).offered_load()["Experts"] > 1
    assert model.to_dict()["offered_load"] == pytest.approx(load, abs=1e-6)
