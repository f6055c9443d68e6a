"""Predictions for the live cases: the worker trains and scores, the pages read the scores.

The worker's round (:func:`prediction_refresh`) reads the live stage log, retrains the model from
the closed cases when it is missing or older than a day, and scores every case not closed; both
are written under ``DATA_DIR/prediction/`` (the model as JSON + LightGBM text, never a pickle;
the scores as Parquet), each file replaced whole. Pages read the scores file only
(:func:`open_case_scores`, kept in the process until the file changes): a page never trains or
scores, so it stays fast whatever the history's size.

The breach risk is the probability that a case's total time exceeds ``PREDICTION_SLA_HOURS``
(setting, default 72); each case's own due date is compared with its expected end on the pages.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.utils import timezone

from serviceloop.analytics.prediction import PredictionError, load_predictor, train_predictor
from serviceloop.cases.choices import CaseStatus
from serviceloop.cases.models import Case
from serviceloop.insights.selectors import LogFilters, event_log

__all__ = [
    "FEATURE_ATTRIBUTES",
    "PredictionRefresh",
    "at_risk_rows",
    "case_prediction",
    "case_prediction_row",
    "model_path",
    "open_case_scores",
    "prediction_refresh",
    "scores_path",
]

#: Case attributes of the live log used as features (``status`` would give the answer away).
FEATURE_ATTRIBUTES = ("team", "category", "priority", "channel", "version")
RETRAIN_AFTER = dt.timedelta(days=1)


def _folder() -> Path:
    folder = Path(settings.DATA_DIR) / "prediction"
    folder.mkdir(mode=0o750, parents=True, exist_ok=True)
    return folder


def model_path() -> Path:
    return _folder() / "cases.slpm"


def scores_path() -> Path:
    return _folder() / "open_cases.parquet"


def sla_hours() -> float:
    return float(getattr(settings, "PREDICTION_SLA_HOURS", 72))


@dataclass(frozen=True)
class PredictionRefresh:
    """What one worker round did: trained or not (and why not), cases scored."""

    trained: bool
    scored: int
    note: str = ""


def prediction_refresh(
    *, now: dt.datetime | None = None, retrain_after: dt.timedelta = RETRAIN_AFTER
) -> PredictionRefresh:
    """Retrain when due, then score every case that is not closed (the worker calls this)."""
    now = now or timezone.now()
    log = event_log(LogFilters())
    if log is None:
        return PredictionRefresh(trained=False, scored=0, note="the event log is empty")
    status = (
        log.to_polars()
        .select("case_id", "status")
        .unique("case_id", keep="last")
        .with_columns(pl.col("case_id").cast(pl.String))
    )
    closed = status.filter(pl.col("status") == "closed")["case_id"].to_list()
    not_closed = status.filter(pl.col("status") != "closed")["case_id"].to_list()
    path = model_path()
    trained, note = False, ""
    age = now.timestamp() - path.stat().st_mtime if path.exists() else None
    if age is None or age >= retrain_after.total_seconds():
        try:
            model = train_predictor(
                log,
                closed_cases=closed,
                attributes=[a for a in FEATURE_ATTRIBUTES if a in log.attributes],
                sla_seconds=sla_hours() * 3600,
                timezone=settings.TIME_ZONE,
            )
        except PredictionError as exc:
            note = str(exc)
        else:
            model.save(path)
            trained = True
    if not path.exists():
        return PredictionRefresh(trained=False, scored=0, note=note or "no model yet")
    scores = load_predictor(path).score(log, cases=not_closed)
    scores = scores.with_columns(pl.lit(now).dt.convert_time_zone("UTC").alias("scored_at"))
    target = scores_path()
    partial = target.with_name(target.name + ".partial")
    try:
        scores.write_parquet(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return PredictionRefresh(trained=trained, scored=scores.height, note=note)


_kept: dict[str, Any] = {}
_kept_lock = threading.Lock()


def open_case_scores() -> pl.DataFrame | None:
    """The latest scores, most at risk first (``None`` before the worker's first round)."""
    path = scores_path()
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    with _kept_lock:
        if _kept.get("stamp") == stamp:
            frame: pl.DataFrame = _kept["frame"]
            return frame
    frame = pl.read_parquet(path)
    order = "breach_probability" if "breach_probability" in frame.columns else "remaining_seconds"
    frame = frame.sort(
        [order, "remaining_seconds", "case_id"], descending=[True, True, False], nulls_last=True
    )
    with _kept_lock:
        _kept.update(stamp=stamp, frame=frame)
    return frame


def case_prediction(number: str) -> dict[str, Any] | None:
    """The latest scores of one case, by number, or ``None`` when it has none."""
    scores = open_case_scores()
    if scores is None:
        return None
    row = scores.filter(pl.col("case_id") == number)
    return row.row(0, named=True) if row.height else None


def _row(score: dict[str, Any], case: Case) -> dict[str, Any]:
    """A score with its case, and whether the case is expected to end after its due date."""
    due, end, scored = case.due_at, score.get("expected_end"), score.get("scored_at")
    return {
        **score,
        "case": case,
        "due_at": due,
        "expected_after_due": bool(due and end and end > due),
        # The model counts from the last event: a case quiet since then may be past its estimate.
        "past_expected_end": bool(end and scored and end < scored),
    }


def case_prediction_row(case: Case) -> dict[str, Any] | None:
    """The case's latest scores with :func:`_row`'s additions; ``None`` when closed or unscored."""
    if case.status == CaseStatus.CLOSED:
        return None
    score = case_prediction(case.number)
    return _row(score, case) if score is not None else None


def at_risk_rows(*, offset: int, limit: int) -> tuple[list[dict[str, Any]], int] | None:
    """One page of the scored cases still not closed, most at risk first, and how many were
    scored; ``None`` before the worker's first round. One query for the page's cases."""
    scores = open_case_scores()
    if scores is None:
        return None
    chunk = scores.slice(offset, limit)
    cases = {
        c.number: c
        for c in Case.objects.filter(number__in=chunk["case_id"].to_list())
        .exclude(status=CaseStatus.CLOSED)
        .select_related("team", "assignee")
    }
    rows = [
        _row(s, cases[s["case_id"]]) for s in chunk.iter_rows(named=True) if s["case_id"] in cases
    ]
    return rows, scores.height
