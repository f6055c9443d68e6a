"""Predictions for open cases: remaining time, next activity and SLA-breach risk.

Learned from the closed cases of an event log (any log :func:`~serviceloop.analytics.read_csv`
and the other readers load) with gradient boosting (LightGBM) on prefix features: activity
counts and the last three activities, elapsed time, time since the previous event, hour and
weekday, resource and handovers, attribute values so far. LightGBM is imported on first use,
so importing the analytics library stays quick.

::

    train_predictor(log, *, closed_activities=None, attributes=None, sla_seconds=None,
                    sla_measure="total" | "remaining", timezone="UTC", validation=0.2,
                    max_rounds=1000, seed=0, on_step=None) -> CasePredictor
    CasePredictor.score(log) -> case_id, events, last_activity, last_timestamp, elapsed_seconds,
        remaining_seconds, expected_end, next_activity, next_probability, [breach_probability]
    CasePredictor.save(path); load_predictor(path) -> CasePredictor  # zip of JSON + LightGBM text
    evaluate_predictor(log, *, <train options>, protocols=("time_2_3", "time_64_16_20"))
        -> PredictionEvaluation(summary, by_prefix, splits)   # model vs baselines, split by time

Errors: ``PredictionError(AnalyticsError)`` (too few closed cases, no closing activity, a target
every case meets) and its child ``ModelFileError`` (a model file that is missing or not ours).
"""

from ._evaluate import PredictionEvaluation, evaluate_predictor
from ._model import CasePredictor, ModelFileError, PredictionError, load_predictor, train_predictor

__all__ = [
    "CasePredictor",
    "ModelFileError",
    "PredictionError",
    "PredictionEvaluation",
    "evaluate_predictor",
    "load_predictor",
    "train_predictor",
]
