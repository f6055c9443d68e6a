"""Composite evaluation of units (teams, agents, months, ...) over a table of indicators.

Weights: :func:`ahp_weights` (Saaty's principal eigenvector with his consistency ratio; a matrix
with CR > 0.1 is refused, naming the judgements that conflict most), :func:`entropy_weights`
(from the data) and :func:`blend_weights` (subjective with objective). Scores:
:func:`weighted_sum`, :func:`topsis` and :func:`rank_sum_ratio` (with probit grading into
tiers), each returning :class:`Scores` that keeps the normalised inputs and each indicator's
contribution so that every score traces back to its measures. Input is a Polars DataFrame
with one row per unit: a unit column and one numeric column per indicator, each indicator a
``"benefit"`` (more is better, the default) or ``"cost"`` (less is better).
"""

from ._ahp import (
    RANDOM_INDEX,
    AHPResult,
    InconsistentJudgementsError,
    Judgement,
    ahp_weights,
    pairwise_matrix,
)
from ._methods import Scores, topsis, weighted_sum
from ._normalise import normalise
from ._rsr import probit_thresholds, rank_sum_ratio
from ._weights import blend_weights, entropy_weights

__all__ = [
    "RANDOM_INDEX",
    "AHPResult",
    "InconsistentJudgementsError",
    "Judgement",
    "Scores",
    "ahp_weights",
    "blend_weights",
    "entropy_weights",
    "normalise",
    "pairwise_matrix",
    "probit_thresholds",
    "rank_sum_ratio",
    "topsis",
    "weighted_sum",
]
