"""How the demo operation behaves: who works each stage, how long it takes, where cases loop back.

Durations are lognormal (median, sigma), in working hours of the stage's shift, split into the wait
before someone picks the case up and the work itself. One bottleneck is planted on purpose: the
specialists team is understaffed, so cases queue for days before Solution design starts. Its time in
stage is about three times that of any other stage, which the process map and the bottleneck ranking
must show.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "BOTTLENECK_STAGE",
    "PRIORITY_SPEED",
    "STAGES",
    "StageModel",
    "lognormal",
    "weighted_choice",
]

BOTTLENECK_STAGE = "Solution design"
T = TypeVar("T")


@dataclass(frozen=True)
class StageModel:
    """Behaviour of one stage, keyed by the stage's English name.

    ``wait`` and ``work`` are (median hours, sigma). For a customer stage, ``wait`` is the
    customer's answer time in elapsed hours (customers answer evenings and weekends too) and
    ``work`` the agent's follow-up in working hours. ``rework`` maps a stage name reached by a
    rework edge to its probability per pass.
    """

    name: str
    wait: tuple[float, float]
    work: tuple[float, float]
    customer_stage: bool = False
    rework: tuple[tuple[str, float], ...] = ()


STAGES: dict[str, StageModel] = {
    model.name: model
    for model in (
        StageModel("Intake", wait=(0.25, 0.9), work=(0.3, 0.6)),
        StageModel("Needs analysis", wait=(1.0, 0.8), work=(2.0, 0.6)),
        StageModel("Confirmation", wait=(9.0, 0.9), work=(0.4, 0.6), customer_stage=True),
        StageModel(BOTTLENECK_STAGE, wait=(22.0, 0.55), work=(5.0, 0.5)),
        StageModel(
            "Delivery",
            wait=(3.0, 0.7),
            work=(4.0, 0.6),
            rework=((BOTTLENECK_STAGE, 0.08),),
        ),
        StageModel("Follow-up", wait=(5.0, 0.6), work=(0.4, 0.5), rework=(("Delivery", 0.05),)),
    )
}

# Urgent cases jump queues; low-priority ones wait longer.
PRIORITY_SPEED = {"low": 1.3, "normal": 1.0, "high": 0.7, "urgent": 0.45}


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma)


def weighted_choice(rng: random.Random, options: list[tuple[T, float]]) -> T:
    total = sum(weight for _, weight in options)
    pick = rng.uniform(0, total)
    for value, weight in options:
        pick -= weight
        if pick <= 0:
            return value
    return options[-1][0]
