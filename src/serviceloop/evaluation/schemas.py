"""API schemas for evaluations (read-only)."""

from __future__ import annotations

import datetime as dt

from ninja import Schema

__all__ = ["EvaluationDetailOut", "EvaluationOut", "MeasureOut", "ResultOut"]


class EvaluationOut(Schema):
    id: int
    name: str
    system: str
    unit_kind: str
    period_start: dt.date
    period_end: dt.date
    method: str
    weighting: str
    weights: dict[str, float]
    excluded: list[dict[str, str]]
    created_at: dt.datetime


class MeasureOut(Schema):
    indicator: str
    raw_value: float
    normalised: float
    weight: float
    contribution: float
    basis: str


class ResultOut(Schema):
    unit_key: str
    unit_label: str
    score: float
    rank: int
    tier: int | None
    dimensions: dict[str, float | None]
    measures: list[MeasureOut]


class EvaluationDetailOut(EvaluationOut):
    details: dict[str, object]
    results: list[ResultOut]
