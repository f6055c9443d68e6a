"""Business-process simulation: discover a model from a log, change it, simulate, compare.

::

    model = discover_model(log, pool_attribute="workgroup")          # discovery
    result = simulate(model, [parse_scenario("more: staff Resolve=+2")],
                      replications=10, seed=1)                         # results
    result.to_dict()

Modules: ``model`` (the data), ``discovery``, ``engine`` (fast heap engine; SimPy reference),
``scenarios`` (what-if changes), ``results`` (replications, confidence intervals),
``validation`` (distances to a real log), ``report`` (offline HTML).
"""

from .discovery import ModelDiscoveryError, discover_model
from .model import ActivityModel, PoolModel, SimulationModel, mmc_model, parse_hours
from .results import Estimate, ScenarioResult, SimulationResult, simulate
from .scenarios import (
    ArrivalPattern,
    Arrivals,
    Change,
    Duration,
    MergeStages,
    RemoveRework,
    RemoveStage,
    Route,
    Scenario,
    Staff,
    WorkingHours,
    parse_change,
    parse_scenario,
)
from .validation import simulate_log, simulated_log

__all__ = [
    "ActivityModel",
    "ArrivalPattern",
    "Arrivals",
    "Change",
    "Duration",
    "Estimate",
    "MergeStages",
    "ModelDiscoveryError",
    "PoolModel",
    "RemoveRework",
    "RemoveStage",
    "Route",
    "Scenario",
    "ScenarioResult",
    "SimulationModel",
    "SimulationResult",
    "Staff",
    "WorkingHours",
    "discover_model",
    "mmc_model",
    "parse_change",
    "parse_hours",
    "parse_scenario",
    "simulate",
    "simulate_log",
    "simulated_log",
]
