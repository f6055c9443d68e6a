"""How the demo operation behaves: who works each stage, how long it takes, where cases loop back.

Each stage visit is work for the stage's team: the case queues until an agent of the team is free
on shift (``serviceloop.demo.history``), then the agent works ``work`` working hours on it, one
piece of work at a time. Waiting is not drawn: it comes from the queue. Work times are lognormal
(median, sigma) in working hours, sized for ``REFERENCE_PER_WEEKDAY`` new cases a weekday and
scaled to the volume loaded, so every team is as busy at any scale.

One bottleneck is planted on purpose: the specialists team (3 people, office hours) is busy about
90 % of its hours with Solution design, so cases queue there for a day or more while the other
teams (busy about 50-60 %) take them within hours. The process map and the bottleneck ranking
must show it, and adding specialists (``demo --extra-specialists``) shortens that queue.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "BOTTLENECK_STAGE",
    "PRIORITY_HEAD_START",
    "REFERENCE_PER_WEEKDAY",
    "STAGES",
    "StageModel",
    "lognormal",
    "weighted_choice",
]

BOTTLENECK_STAGE = "Solution design"
REFERENCE_PER_WEEKDAY = 24.0  # the volume the work times below are sized for
T = TypeVar("T")

Lognormal = tuple[float, float]  # (median, sigma)


@dataclass(frozen=True)
class StageModel:
    """Behaviour of one stage, keyed by the stage's English name.

    ``work`` is the team's work on one visit, in working hours. ``delay`` holds the work back
    before it queues (the follow-up waits a few working hours after delivery). For a customer
    stage, ``propose`` is the agent's proposal, ``answer`` the customer's answer time in elapsed
    hours (customers answer evenings and weekends too) and ``work`` the agent's wrap-up after it.
    ``rework`` maps a stage name reached by a rework edge to its probability per pass.
    """

    name: str
    work: Lognormal
    delay: Lognormal | None = None
    customer_stage: bool = False
    propose: Lognormal | None = None
    answer: Lognormal | None = None
    rework: tuple[tuple[str, float], ...] = ()


STAGES: dict[str, StageModel] = {
    model.name: model
    for model in (
        StageModel("Intake", work=(0.15, 0.6)),
        StageModel("Needs analysis", work=(1.6, 0.6)),
        StageModel(
            "Confirmation",
            work=(0.15, 0.6),
            customer_stage=True,
            propose=(0.3, 0.6),
            answer=(3.0, 0.9),
        ),
        StageModel(BOTTLENECK_STAGE, work=(0.78, 0.7)),
        StageModel("Delivery", work=(0.8, 0.6), rework=((BOTTLENECK_STAGE, 0.08),)),
        StageModel(
            "Follow-up",
            work=(0.15, 0.5),
            delay=(1.0, 0.6),
            answer=(4.0, 0.8),
            rework=(("Delivery", 0.05),),
        ),
    )
}

# Hours of queueing a priority is spared: urgent cases jump queues, low-priority ones wait longer
# (an earliest-deadline order, so no case waits forever behind a stream of urgent ones).
PRIORITY_HEAD_START = {"low": -8.0, "normal": 0.0, "high": 12.0, "urgent": 36.0}


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
