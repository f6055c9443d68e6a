"""Staffing: Erlang C and Erlang A per hour for a service-level target, fed by a volume forecast.

::

    erlang_c(traffic, agents)                  probability an arrival waits (M/M/n)
    erlang_c_service_level(...), erlang_c_asa(...)
    erlang_a(arrivals_per_hour=, handle_seconds=, patience_seconds=, agents=, target_seconds=)
                                               M/M/n+M: waits, abandons, service level, ASA
    agents_needed(arrivals_per_hour=, handle_seconds=, target_seconds=, service_level=, ...)
    forecast_volume(log, *, weeks=4, time_zone="UTC", test_weeks=4) -> VolumeForecast
                                               Holt-Winters on daily volumes (statsmodels),
                                               split into hours by the weekday's hourly profile,
                                               backtested on the last weeks (MAPE)
    staffing_table(forecast, *, handle_seconds=, target_seconds=, service_level=, ...)
                                               agents per weekday and hour, by Erlang C and A

Times are in seconds, rates per hour. The service level is the share of arrivals answered
within ``target_seconds`` (with Erlang A, those who abandon count as not answered). For case
work ("80 % of new cases picked up within 4 hours") use the case's handling time and the
pick-up standard in the same way.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .errors import InvalidParameterError

if TYPE_CHECKING:
    from .eventlog import EventLog

__all__ = [
    "ErlangAResult",
    "VolumeForecast",
    "agents_needed",
    "erlang_a",
    "erlang_c",
    "erlang_c_asa",
    "erlang_c_service_level",
    "forecast_volume",
    "staffing_table",
]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _erlang_b(traffic: float, agents: int) -> float:
    b = 1.0
    for k in range(1, agents + 1):
        b = traffic * b / (k + traffic * b)
    return b


def erlang_c(traffic: float, agents: int) -> float:
    """Probability that an arrival has to wait (Erlang C), for ``traffic`` erlangs.

    Computed through the Erlang B recursion, which stays exact for hundreds of agents.
    Returns 1 when the agents cannot carry the traffic (``agents <= traffic``).

    Examples
    --------
    >>> round(erlang_c(10.0, 14), 4)  # 100 calls / 30 min, 3 min each
    0.1741
    """
    if traffic < 0 or agents < 0:
        raise InvalidParameterError("traffic and agents must be >= 0")
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    b = _erlang_b(traffic, agents)
    return agents * b / (agents - traffic * (1 - b))


def erlang_c_service_level(
    *, arrivals_per_hour: float, handle_seconds: float, agents: int, target_seconds: float
) -> float:
    """Share of arrivals answered within ``target_seconds`` (Erlang C)."""
    a = _traffic(arrivals_per_hour, handle_seconds)
    if agents <= a:
        return 0.0
    c = erlang_c(a, agents)
    return 1.0 - c * math.exp(-(agents - a) * target_seconds / handle_seconds)


def erlang_c_asa(*, arrivals_per_hour: float, handle_seconds: float, agents: int) -> float:
    """Average speed of answer, seconds, over all arrivals (Erlang C); inf when overloaded."""
    a = _traffic(arrivals_per_hour, handle_seconds)
    if agents <= a:
        return math.inf
    return erlang_c(a, agents) * handle_seconds / (agents - a)


def _traffic(arrivals_per_hour: float, handle_seconds: float) -> float:
    if arrivals_per_hour < 0 or handle_seconds <= 0:
        raise InvalidParameterError("arrivals must be >= 0 and the handling time > 0")
    return arrivals_per_hour * handle_seconds / 3600.0


@dataclass(frozen=True)
class ErlangAResult:
    """Erlang A (M/M/n+M) measures for one number of agents."""

    agents: int
    traffic: float
    p_wait: float
    p_abandon: float
    service_level: float
    asa_seconds: float
    occupancy: float


def erlang_a(
    *,
    arrivals_per_hour: float,
    handle_seconds: float,
    patience_seconds: float,
    agents: int,
    target_seconds: float = 20.0,
) -> ErlangAResult:
    """Erlang A: the M/M/n queue whose callers abandon after an exponential patience.

    Exact, from the birth-death chain truncated where its tail probability is below 1e-12
    (Palm's model as in Garnett, Mandelbaum and Reiman 2002; Mandelbaum and Zeltyn 2007). The
    service level is the share of arrivals answered within ``target_seconds``: an arrival that
    finds ``j`` callers ahead moves up at rate ``n mu + i theta`` (``i`` still ahead) while its
    own patience runs at rate ``theta``; that phase-type race is solved with a matrix
    exponential. ASA is the mean wait over all arrivals (answered or not).

    Examples
    --------
    >>> r = erlang_a(arrivals_per_hour=200, handle_seconds=180, patience_seconds=1e9,
    ...              agents=14, target_seconds=20)
    >>> round(r.p_wait, 4), round(r.service_level, 4)  # no abandonment: Erlang C
    (0.1741, 0.8884)
    """
    if agents < 1:
        raise InvalidParameterError("agents must be at least 1")
    if patience_seconds <= 0 or target_seconds < 0:
        raise InvalidParameterError("patience must be > 0 and the target >= 0")
    a = _traffic(arrivals_per_hour, handle_seconds)
    lam = arrivals_per_hour / 3600.0
    mu = 1.0 / handle_seconds
    theta = 1.0 / patience_seconds
    n = agents
    # Stationary distribution, in logs to stay finite for large n.
    logs = [0.0]
    k = 0
    while True:
        k += 1
        death = min(k, n) * mu + max(k - n, 0) * theta
        logs.append(logs[-1] + math.log(lam) - math.log(death) if lam > 0 else -math.inf)
        if k > n and (logs[-1] - max(logs) < math.log(1e-12)) and k > 2 * n:
            break
        if k > n + 200_000:
            raise InvalidParameterError("Erlang A: the queue does not settle (patience too long)")
    top = max(logs)
    p = np.exp(np.array(logs) - top)
    p /= p.sum()
    waiting = p[n:]
    p_wait = float(waiting.sum())
    queue = np.arange(waiting.size, dtype=float)  # callers waiting in state n + i
    lq = float((queue * waiting).sum())
    p_abandon = theta * lq / lam if lam > 0 else 0.0
    asa = lq / lam if lam > 0 else 0.0
    served_in_time = float(p[:n].sum()) + _answered_within(waiting, n * mu, theta, target_seconds)
    busy = float((np.minimum(np.arange(p.size), n) * p).sum())
    return ErlangAResult(
        agents=n,
        traffic=a,
        p_wait=p_wait,
        p_abandon=p_abandon,
        service_level=served_in_time,
        asa_seconds=asa,
        occupancy=busy / n,
    )


def _answered_within(waiting: np.ndarray, rate: float, theta: float, t: float) -> float:
    """Sum over states n + j of P(state) x P(the arrival is answered within t)."""
    from scipy.linalg import expm

    keep = int(np.searchsorted(np.cumsum(waiting), waiting.sum() * (1 - 1e-12)) + 1)
    w = waiting[:keep]
    m = w.size
    if m == 0 or w.sum() == 0:
        return 0.0
    # Transient states: i callers ahead (i = 0..m-1); absorbing: answered (m), abandoned (m+1).
    q = np.zeros((m + 2, m + 2))
    for i in range(m):
        if i == 0:
            q[0, m] = rate  # at the head of the queue: the next agent to free up answers
        else:
            q[i, i - 1] = rate + i * theta  # one ahead is answered or abandons
        q[i, m + 1] = theta  # this caller's own patience runs out
        q[i, i] = -(q[i].sum())
    # An arrival finding n + j in the system has j callers ahead of it.
    start = np.zeros(m + 2)
    start[:m] = w
    dist = start @ expm(q * t)
    return float(dist[m])


def agents_needed(
    *,
    arrivals_per_hour: float,
    handle_seconds: float,
    target_seconds: float,
    service_level: float,
    max_occupancy: float = 1.0,
    patience_seconds: float | None = None,
    max_agents: int = 10_000,
) -> int:
    """Fewest agents meeting the service level (and the occupancy cap).

    Erlang C, or Erlang A when ``patience_seconds`` is given. Zero arrivals need zero agents.

    Examples
    --------
    >>> agents_needed(arrivals_per_hour=200, handle_seconds=180, target_seconds=20,
    ...               service_level=0.8, max_occupancy=0.85)
    14
    """
    if not 0 < service_level < 1 or not 0 < max_occupancy <= 1:
        raise InvalidParameterError("the service level must be in (0, 1), occupancy in (0, 1]")
    a = _traffic(arrivals_per_hour, handle_seconds)
    if a == 0:
        return 0
    n = max(1, math.floor(a / max_occupancy))
    while n <= max_agents:
        if a / n <= max_occupancy:
            if patience_seconds is None:
                sl = erlang_c_service_level(
                    arrivals_per_hour=arrivals_per_hour,
                    handle_seconds=handle_seconds,
                    agents=n,
                    target_seconds=target_seconds,
                )
            else:
                sl = erlang_a(
                    arrivals_per_hour=arrivals_per_hour,
                    handle_seconds=handle_seconds,
                    patience_seconds=patience_seconds,
                    agents=n,
                    target_seconds=target_seconds,
                ).service_level
            if sl >= service_level:
                return n
        n += 1
    raise InvalidParameterError(f"more than {max_agents} agents would be needed")


# -- volume forecast ----------------------------------------------------------------------------
@dataclass(frozen=True)
class VolumeForecast:
    """Expected new cases per weekday and hour for the coming weeks, and how well it did.

    ``hourly``: weekday (Mon..Sun), hour, arrivals (per hour, averaged over the forecast weeks).
    ``daily``: date, forecast (new cases that day). ``backtest``: MAPE and WAPE of the same
    method on the last ``test_weeks`` weeks of the log, trained on the weeks before, beside the
    seasonal-naive forecast (same weekday a week earlier) as a baseline.
    """

    hourly: pl.DataFrame
    daily: pl.DataFrame
    backtest: dict[str, Any]
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "backtest": self.backtest,
            "hourly": self.hourly.to_dicts(),
            "daily": [{"date": str(d), "forecast": f} for d, f in self.daily.iter_rows()],
        }


def _daily_and_profile(log: EventLog, time_zone: str) -> tuple[pl.DataFrame, np.ndarray]:
    """Daily counts of new cases (every day, zeros included) and the hour profile per weekday."""
    from ._schema import C, S, T

    ev = log.coded()
    first_col = S if log.has_start else T
    first = ev.group_by(C).agg(pl.col(first_col).min().alias("t"))
    local = (
        pl.from_epoch(first["t"], "us").dt.replace_time_zone("UTC").dt.convert_time_zone(time_zone)
    )
    frame = pl.DataFrame({"ts": local})
    frame = frame.with_columns(
        pl.col("ts").dt.date().alias("date"),
        (pl.col("ts").dt.weekday() - 1).alias("wd"),
        pl.col("ts").dt.hour().alias("hour"),
    )
    start, end = frame["date"].min(), frame["date"].max()
    assert isinstance(start, dt.date) and isinstance(end, dt.date)
    days = pl.DataFrame({"date": pl.date_range(start, end, "1d", eager=True)})
    daily = days.join(frame.group_by("date").len(), on="date", how="left").fill_null(0)
    profile = np.zeros((7, 24))
    for wd, hour, k in frame.group_by("wd", "hour").len().iter_rows():
        profile[wd, hour] += k
    sums = profile.sum(axis=1, keepdims=True)
    flat = np.full((7, 24), 1 / 24)
    profile = np.where(sums > 0, profile / np.where(sums > 0, sums, 1), flat)
    return daily.sort("date").rename({"len": "cases"}), profile


def _holt_winters(y: np.ndarray, horizon: int) -> np.ndarray:
    """Additive Holt-Winters with a weekly season (statsmodels), clipped at zero."""
    import warnings

    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(
            y.astype(float), trend="add", damped_trend=True, seasonal="add", seasonal_periods=7
        ).fit(optimized=True)
        return np.maximum(np.asarray(fit.forecast(horizon)), 0.0)


def _errors(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    nonzero = actual > 0
    mape = (
        float(np.mean(np.abs(actual[nonzero] - predicted[nonzero]) / actual[nonzero]))
        if nonzero.any()
        else None
    )
    total = float(actual.sum())
    wape = float(np.abs(actual - predicted).sum() / total) if total else None
    return {"mape": mape, "wape": wape}


def forecast_volume(
    log: EventLog, *, weeks: int = 4, time_zone: str = "UTC", test_weeks: int = 4
) -> VolumeForecast:
    """Forecast new cases per weekday and hour for the ``weeks`` after the log ends.

    Daily volumes get an additive, damped Holt-Winters model with a weekly season
    (``statsmodels``); each day is split into hours by its weekday's hourly profile in the log.
    The same method is backtested on the last ``test_weeks`` weeks (trained on the rest):
    MAPE over days with cases, WAPE over all days, beside the seasonal-naive baseline.
    """
    if weeks < 1 or test_weeks < 1:
        raise InvalidParameterError("weeks and test_weeks must be at least 1")
    daily, profile = _daily_and_profile(log, time_zone)
    y = daily["cases"].to_numpy()
    test = 7 * test_weeks
    if y.size < test + 4 * 7:
        raise InvalidParameterError(
            f"the log spans {y.size} days: a forecast backtested on {test_weeks} week(s) needs "
            f"at least {test + 28} days"
        )
    train, actual = y[:-test], y[-test:]
    predicted = _holt_winters(train, test)
    naive = np.resize(train[-7:], test).astype(float)
    backtest = {
        "test_weeks": test_weeks,
        "test_days": test,
        "holt_winters": _errors(actual, predicted),
        "seasonal_naive": _errors(actual, naive),
        "actual_mean_per_day": float(actual.mean()),
    }
    horizon = 7 * weeks
    future = _holt_winters(y, horizon)
    last = daily["date"].max()
    assert isinstance(last, dt.date)
    dates = pl.Series(
        "date", [last + dt.timedelta(days=k) for k in range(1, horizon + 1)], dtype=pl.Date
    )
    fut = pl.DataFrame({"date": dates, "forecast": future})
    per_weekday = np.zeros(7)
    counts = np.zeros(7)
    for d, f in fut.iter_rows():
        per_weekday[d.weekday()] += f
        counts[d.weekday()] += 1
    per_weekday = per_weekday / np.maximum(counts, 1)
    rows = [
        {"weekday": _WEEKDAYS[wd], "hour": h, "arrivals": float(per_weekday[wd] * profile[wd, h])}
        for wd in range(7)
        for h in range(24)
    ]
    return VolumeForecast(
        hourly=pl.DataFrame(rows),
        daily=fut,
        backtest=backtest,
        method="Holt-Winters (additive, damped trend, weekly season) on daily volumes; "
        "hours by the weekday's profile",
    )


def staffing_table(
    arrivals: pl.DataFrame | VolumeForecast,
    *,
    handle_seconds: float,
    target_seconds: float,
    service_level: float,
    patience_seconds: float | None = None,
    max_occupancy: float = 1.0,
    shrinkage: float = 0.0,
) -> pl.DataFrame:
    """Agents needed in every weekday and hour, by Erlang C (and Erlang A with patience).

    ``arrivals`` has ``weekday``, ``hour`` and ``arrivals`` (per hour), e.g. a forecast's
    ``hourly``. ``shrinkage`` (breaks, training) turns agents on the phone into agents rostered.
    """
    frame = arrivals.hourly if isinstance(arrivals, VolumeForecast) else arrivals
    if not 0 <= shrinkage < 1:
        raise InvalidParameterError("shrinkage must be in [0, 1)")
    rows = []
    for weekday, hour, lam in frame.select("weekday", "hour", "arrivals").iter_rows():
        c = agents_needed(
            arrivals_per_hour=lam,
            handle_seconds=handle_seconds,
            target_seconds=target_seconds,
            service_level=service_level,
            max_occupancy=max_occupancy,
        )
        row: dict[str, Any] = {
            "weekday": weekday,
            "hour": hour,
            "arrivals": lam,
            "traffic": lam * handle_seconds / 3600,
            "agents_erlang_c": c,
            "service_level_erlang_c": erlang_c_service_level(
                arrivals_per_hour=lam,
                handle_seconds=handle_seconds,
                agents=c,
                target_seconds=target_seconds,
            )
            if c
            else None,
            "rostered_erlang_c": math.ceil(c / (1 - shrinkage)) if c else 0,
        }
        if patience_seconds is not None:
            ca = agents_needed(
                arrivals_per_hour=lam,
                handle_seconds=handle_seconds,
                target_seconds=target_seconds,
                service_level=service_level,
                max_occupancy=max_occupancy,
                patience_seconds=patience_seconds,
            )
            res = (
                erlang_a(
                    arrivals_per_hour=lam,
                    handle_seconds=handle_seconds,
                    patience_seconds=patience_seconds,
                    agents=ca,
                    target_seconds=target_seconds,
                )
                if ca
                else None
            )
            row.update(
                {
                    "agents_erlang_a": ca,
                    "service_level_erlang_a": res.service_level if res else None,
                    "abandon_erlang_a": res.p_abandon if res else None,
                    "rostered_erlang_a": math.ceil(ca / (1 - shrinkage)) if ca else 0,
                }
            )
        rows.append(row)
    return pl.DataFrame(rows)
