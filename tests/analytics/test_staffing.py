"""Staffing: Erlang C against published worked examples, Erlang A against exact identities and
an independent simulation, the volume forecast and its backtest, bad input."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from serviceloop.analytics import InvalidParameterError, from_polars, read_csv
from serviceloop.analytics.staffing import (
    agents_needed,
    erlang_a,
    erlang_c,
    erlang_c_asa,
    erlang_c_service_level,
    forecast_volume,
    staffing_table,
)

from .conftest import HELPDESK


def test_erlang_c_reproduces_the_pyworkforce_and_cran_erlangc_example():
    """100 calls in 30 min, AHT 3 min, 80 % within 20 s, max occupancy 85 %, shrinkage 30 %.

    Published in the pyworkforce 0.1.0 README (PyPI) and the CRAN package ErlangC 0.1.0 README:
    14 agents (20 with shrinkage), service level 0.8883500191794669, occupancy 0.7142857,
    waiting probability 0.1741319335950498, ASA 7.83593701177724 s.
    """
    lam = 200.0  # per hour
    assert (
        agents_needed(
            arrivals_per_hour=lam,
            handle_seconds=180,
            target_seconds=20,
            service_level=0.8,
            max_occupancy=0.85,
        )
        == 14
    )
    assert erlang_c(10.0, 14) == pytest.approx(0.1741319335950498, abs=1e-12)
    sl = erlang_c_service_level(
        arrivals_per_hour=lam, handle_seconds=180, agents=14, target_seconds=20
    )
    assert sl == pytest.approx(0.8883500191794669, abs=1e-12)
    asa = erlang_c_asa(arrivals_per_hour=lam, handle_seconds=180, agents=14)
    assert asa == pytest.approx(7.83593701177724, abs=1e-9)
    table = staffing_table(
        pl.DataFrame({"weekday": ["Mon"], "hour": [9], "arrivals": [lam]}),
        handle_seconds=180,
        target_seconds=20,
        service_level=0.8,
        max_occupancy=0.85,
        shrinkage=0.3,
    )
    assert table["agents_erlang_c"][0] == 14 and table["rostered_erlang_c"][0] == 20


def test_erlang_c_reproduces_the_call_center_tools_example():
    """1000 calls per hour, AHT 120 s, 80 % in 20 s, max occupancy 85 %, shrinkage 30 %.

    Published in the call-center-tools README (PyPI): 33.333 erlangs, waiting probability
    19.07 %, service level 93.72 %, ASA 3.43 s, occupancy 83.33 %, 40 agents, 58 with shrinkage.
    """
    n = agents_needed(
        arrivals_per_hour=1000,
        handle_seconds=120,
        target_seconds=20,
        service_level=0.8,
        max_occupancy=0.85,
    )
    assert n == 40
    assert round(erlang_c(1000 * 120 / 3600, 40) * 100, 2) == 19.07
    sl = erlang_c_service_level(
        arrivals_per_hour=1000, handle_seconds=120, agents=40, target_seconds=20
    )
    assert round(sl * 100, 2) == 93.72
    assert round(erlang_c_asa(arrivals_per_hour=1000, handle_seconds=120, agents=40), 2) == 3.43
    assert math.ceil(n / (1 - 0.3)) == 58


def test_erlang_c_reproduces_the_step_by_step_example():
    """360 calls per half hour, 240 s each, 55 agents, 15 s target (the classic step-by-step
    Erlang-C page, as re-computed with Maxima's erlang package): Ec = 0.2387, Tw = 8.184 s,
    P(wait <= 15 s) = 0.8459."""
    assert round(erlang_c(0.2 * 240, 55), 4) == 0.2387
    assert round(erlang_c_asa(arrivals_per_hour=720, handle_seconds=240, agents=55), 3) == 8.184
    sl = erlang_c_service_level(
        arrivals_per_hour=720, handle_seconds=240, agents=55, target_seconds=15
    )
    assert round(sl, 4) == 0.8459


def test_erlang_a_without_abandonment_is_erlang_c():
    r = erlang_a(
        arrivals_per_hour=200,
        handle_seconds=180,
        patience_seconds=1e12,
        agents=14,
        target_seconds=20,
    )
    assert r.p_wait == pytest.approx(0.1741319335950498, abs=1e-7)
    assert r.service_level == pytest.approx(0.8883500191794669, abs=1e-7)
    assert r.asa_seconds == pytest.approx(7.83593701177724, abs=1e-5)
    assert r.occupancy == pytest.approx(10 / 14, abs=1e-7)


def test_erlang_a_with_patience_equal_to_service_is_an_infinite_server_queue():
    """With theta = mu every caller leaves at rate mu, in service or not: the number in the
    system is Poisson(A), so P(wait) = P(N >= n) and the abandon rate is E[(N - n)+] mu / lambda."""
    a, n = 10.0, 10
    r = erlang_a(arrivals_per_hour=200, handle_seconds=180, patience_seconds=180, agents=n)
    k = np.arange(0, 200)
    log_p = -a + k * math.log(a) - np.array([math.lgamma(x + 1) for x in k])
    p = np.exp(log_p)
    assert r.p_wait == pytest.approx(p[n:].sum(), abs=1e-9)
    assert r.p_abandon == pytest.approx(((k - n).clip(0) * p).sum() / a, abs=1e-9)


def _simulate_mmn_m(lam, mu, theta, n, target, customers, seed):
    """A plain M/M/n+M simulation written out here, independent of the library."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / lam, customers))
    services = rng.exponential(1 / mu, customers)
    patience = rng.exponential(1 / theta, customers)
    free = np.zeros(n)  # time each agent becomes free
    answered_in_time = abandoned = 0
    for t, s, p in zip(arrivals, services, patience, strict=True):
        i = int(np.argmin(free))
        start = max(t, free[i])
        if start - t > p:
            abandoned += 1
            continue
        answered_in_time += start - t <= target
        free[i] = start + s
    return answered_in_time / customers, abandoned / customers


def test_erlang_a_matches_an_independent_simulation():
    r = erlang_a(
        arrivals_per_hour=240, handle_seconds=150, patience_seconds=120, agents=9, target_seconds=20
    )
    sl, ab = _simulate_mmn_m(240 / 3600, 1 / 150, 1 / 120, 9, 20, 200_000, seed=4)
    assert r.service_level == pytest.approx(sl, abs=0.006)
    assert r.p_abandon == pytest.approx(ab, abs=0.004)


def test_agents_needed_falls_with_abandonment_and_rises_with_the_target():
    kw = {"arrivals_per_hour": 300, "handle_seconds": 240, "target_seconds": 20}
    c = agents_needed(service_level=0.8, **kw)
    a = agents_needed(service_level=0.8, patience_seconds=90, **kw)
    assert a <= c
    assert agents_needed(service_level=0.95, **kw) > c
    assert (
        agents_needed(arrivals_per_hour=0, handle_seconds=240, target_seconds=20, service_level=0.8)
        == 0
    )


def test_forecast_recovers_a_weekly_pattern_and_is_backtested():
    rng = np.random.default_rng(8)
    per_day = [40, 38, 36, 35, 30, 8, 4]  # Mon..Sun
    rows = []
    start = np.datetime64("2024-01-01T00:00")  # a Monday
    case = 0
    for day in range(7 * 20):
        k = rng.poisson(per_day[day % 7])
        minutes = np.sort(rng.normal(13 * 60, 150, k).clip(0, 24 * 60 - 1))
        for m in minutes:
            t = start + np.timedelta64(day * 1440 + int(m), "m")
            rows.append((f"c{case}", "Open", str(t)))
            case += 1
    log = from_polars(pl.DataFrame(rows, schema=["case_id", "activity", "timestamp"], orient="row"))
    fc = forecast_volume(log, weeks=2, test_weeks=3)
    by_day = fc.hourly.group_by("weekday").agg(pl.col("arrivals").sum())
    got = dict(by_day.iter_rows())
    for name, expected in zip(
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], per_day, strict=True
    ):
        assert got[name] == pytest.approx(expected, rel=0.25, abs=3)
    bt = fc.backtest
    assert bt["test_days"] == 21
    assert bt["holt_winters"]["wape"] < 0.2
    noon = fc.hourly.filter((pl.col("weekday") == "Mon") & (pl.col("hour") == 13))["arrivals"][0]
    night = fc.hourly.filter((pl.col("weekday") == "Mon") & (pl.col("hour") == 3))["arrivals"][0]
    assert noon > 5 * max(night, 0.01)
    table = staffing_table(fc, handle_seconds=600, target_seconds=3600, service_level=0.8)
    assert table.height == 168
    assert table.filter(pl.col("arrivals") == 0)["agents_erlang_c"].sum() == 0


def test_forecast_on_the_helpdesk_log_reports_its_backtest():
    log = read_csv(
        HELPDESK,
        case="Case ID",
        activity="Activity",
        timestamp="Complete Timestamp",
        duplicates="keep",
    )
    fc = forecast_volume(log, weeks=1, test_weeks=4)
    assert fc.hourly.height == 168
    for method in ("holt_winters", "seasonal_naive"):
        assert fc.backtest[method]["wape"] is not None
    assert fc.to_dict()["method"].startswith("Holt-Winters")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: erlang_c(-1, 3), "must be >= 0"),
        (
            lambda: agents_needed(
                arrivals_per_hour=10, handle_seconds=60, target_seconds=20, service_level=1.5
            ),
            "service level must be in",
        ),
        (
            lambda: erlang_a(arrivals_per_hour=10, handle_seconds=60, patience_seconds=0, agents=2),
            "patience must be > 0",
        ),
        (
            lambda: erlang_c_service_level(
                arrivals_per_hour=10, handle_seconds=0, agents=2, target_seconds=20
            ),
            "handling time > 0",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises(InvalidParameterError, match=message):
        call()


def test_a_log_too_short_for_a_backtest_is_refused():
    rows = [(f"c{i}", "Open", f"2024-01-{1 + i % 20:02d} 10:00") for i in range(60)]
    log = from_polars(pl.DataFrame(rows, schema=["case_id", "activity", "timestamp"], orient="row"))
    with pytest.raises(InvalidParameterError, match="spans 20 days"):
        forecast_volume(log, test_weeks=2)
