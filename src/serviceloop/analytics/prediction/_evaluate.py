"""Evaluating a :class:`CasePredictor` the way the literature does, against simple baselines.

Splits are by time: closed cases are ordered by their first event; the earliest train, the
latest test, so the model never learns from a case that started after one it is tested on.
Each test case contributes every prefix. Two protocols:

* ``time_2_3`` (Tax et al. 2017): the first 2/3 of the cases train (the last fifth of them
  stop the boosting early), the last 1/3 test. Next activity on prefixes 1..n (after the whole
  case the answer is "end"), remaining time and breach risk on prefixes 1..n-1.
* ``time_64_16_20`` (the remaining-time benchmark of Verenich et al.): 64 % train, 16 %
  validation, 20 % test; remaining time on prefixes 2..n-1.

Baselines, learned from the same training cases: the most frequent next activity after the same
activity prefix, the median remaining time of the same prefix and its breach share; a prefix not
seen in training falls back to its last activity, then to the whole training set.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any

import polars as pl

from .._log import EventLog
from ..errors import InvalidParameterError
from ._features import ACT, CASE, TS, add_targets, events_frame, prefix_features
from ._model import (
    MIN_CLOSED_CASES,
    CasePredictor,
    PredictionError,
    Progress,
    SlaMeasure,
    closed_case_ids,
    fit_events,
    infer_closed_activities,
)

__all__ = ["PROTOCOLS", "PredictionEvaluation", "evaluate_predictor", "split_by_start"]

PROTOCOLS = {"time_2_3": (2 / 3, 0.0), "time_64_16_20": (0.8, 0.2)}
_KEY = "__prefix_key"


@dataclass(frozen=True)
class PredictionEvaluation:
    """Held-out scores of the model and the baselines.

    ``summary``: protocol, task, metric, prefixes, model, baseline, better (whether the model
    beats the baseline; lower is better for MAE and Brier score). ``by_prefix``: the same per
    prefix length for the ``time_2_3`` protocol. ``splits``: per protocol, the case counts and
    the start times where training ends and testing begins.
    """

    summary: pl.DataFrame
    by_prefix: pl.DataFrame
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary.to_dicts(),
            "by_prefix": self.by_prefix.to_dicts(),
            "splits": self.splits,
        }


def split_by_start(events: pl.DataFrame, train_share: float) -> tuple[pl.Series, pl.Series]:
    """Case ids of the first ``train_share`` of cases by first event, and of the rest."""
    starts = events.group_by(CASE).agg(pl.col(TS).min()).sort(TS, CASE)
    cut = int(starts.height * train_share)
    return starts[CASE].head(cut), starts[CASE].slice(cut)


def _with_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the activity prefix as one string key (names joined by a separator)."""
    keys: list[str] = []
    current_case: object = None
    key = ""
    for case, act in zip(frame[CASE].to_list(), frame[ACT].to_list(), strict=True):
        key = f"{key}\x1f{act}" if case == current_case else str(act)
        current_case = case
        keys.append(key)
    return frame.with_columns(pl.Series(_KEY, keys, dtype=pl.String))


class _Baselines:
    """Per-prefix statistics of the training cases with fallbacks (see the module docstring)."""

    def __init__(self, train: pl.DataFrame, breach: str | None) -> None:
        rows = train.select(
            _KEY, ACT, "next_code", "remaining_days", "not_last", *([breach] if breach else [])
        ).to_dicts()
        self.next: dict[str, Counter[int]] = defaultdict(Counter)
        self.next_last: dict[str, Counter[int]] = defaultdict(Counter)
        self.remaining: dict[str, list[float]] = defaultdict(list)
        self.remaining_last: dict[str, list[float]] = defaultdict(list)
        self.breach: dict[str, list[int]] = defaultdict(list)
        self.breach_last: dict[str, list[int]] = defaultdict(list)
        for r in rows:
            self.next[r[_KEY]][r["next_code"]] += 1
            self.next_last[r[ACT]][r["next_code"]] += 1
            if r["not_last"]:
                self.remaining[r[_KEY]].append(r["remaining_days"])
                self.remaining_last[r[ACT]].append(r["remaining_days"])
                if breach:
                    self.breach[r[_KEY]].append(r[breach])
                    self.breach_last[r[ACT]].append(r[breach])
        self.next_all = sum(self.next.values(), Counter())
        self.remaining_all = [v for vs in self.remaining.values() for v in vs]
        self.breach_all = [v for vs in self.breach.values() for v in vs]

    @staticmethod
    def _most(counts: Counter[int]) -> int:
        return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]

    def predict(self, test: pl.DataFrame) -> pl.DataFrame:
        nxt, rem, br = [], [], []
        for key, act in zip(test[_KEY].to_list(), test[ACT].to_list(), strict=True):
            nxt.append(self._most(self.next.get(key) or self.next_last.get(act) or self.next_all))
            rem.append(
                median(
                    self.remaining.get(key) or self.remaining_last.get(act) or self.remaining_all
                )
            )
            if self.breach_all:
                b = self.breach.get(key) or self.breach_last.get(act) or self.breach_all
                br.append(sum(b) / len(b))
        cols = [pl.Series("base_next", nxt), pl.Series("base_remaining", rem, dtype=pl.Float64)]
        if self.breach_all:
            cols.append(pl.Series("base_breach", br, dtype=pl.Float64))
        return test.with_columns(cols)


def _auc(labels: pl.Series, scores: pl.Series) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties averaged); ``None`` with one class only."""
    pos = int(labels.sum())
    neg = labels.len() - pos
    if pos == 0 or neg == 0:
        return None
    ranks = scores.rank("average")
    rank_sum = float(ranks.filter(labels == 1).sum())
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def _brier(labels: pl.Series, scores: pl.Series) -> float:
    return float(((scores - labels) ** 2).mean())  # type: ignore[operator, arg-type]


def _row(protocol: str, task: str, metric: str, n: int, model: Any, base: Any) -> dict[str, Any]:
    lower = metric in ("mae_days", "brier")
    better = None if model is None or base is None else (model < base if lower else model > base)
    return {
        "protocol": protocol,
        "task": task,
        "metric": metric,
        "prefixes": n,
        "model": model,
        "baseline": base,
        "better": better,
    }


def _run(
    protocol: str,
    events: pl.DataFrame,
    *,
    attributes: tuple[str, ...],
    closing: tuple[str, ...],
    sla_seconds: float | None,
    sla_measure: SlaMeasure,
    timezone: str,
    seed: int,
    step: Progress,
) -> tuple[list[dict[str, Any]], pl.DataFrame, dict[str, Any], CasePredictor]:
    train_share, validation = PROTOCOLS[protocol]
    train_ids, test_ids = split_by_start(events, train_share)
    train_events = events.filter(pl.col(CASE).is_in(train_ids.implode()))
    test_events = events.filter(pl.col(CASE).is_in(test_ids.implode()))
    if set(train_events[CASE].unique()) & set(test_events[CASE].unique()):
        raise AssertionError("a case is both in training and in test")  # pragma: no cover
    model = fit_events(
        train_events,
        attributes=attributes,
        closed_activities=closing,
        sla_seconds=sla_seconds,
        sla_measure=sla_measure,
        timezone=timezone,
        validation=0.2 if protocol == "time_2_3" else validation,
        max_rounds=1000,
        seed=seed,
        on_step=lambda msg: step(f"{protocol}: {msg}"),
    )
    step(f"{protocol}: scoring the test prefixes and the baselines")
    vocab = model.vocab

    def labelled(frame: pl.DataFrame) -> pl.DataFrame:
        out = add_targets(prefix_features(frame, vocab), vocab).with_columns(
            (pl.col("prefix_length") < pl.col("case_length")).alias("not_last")
        )
        if sla_seconds is not None:
            measure = "total_days" if sla_measure == "total" else "remaining_days"
            out = out.with_columns(
                (pl.col(measure) > sla_seconds / 86_400).cast(pl.Int32).alias("breach")
            )
        return _with_keys(out)

    train, test = labelled(train_events), labelled(test_events)
    base = _Baselines(train, "breach" if sla_seconds is not None else None)
    pred = model.predict_prefixes(test)
    scored = base.predict(test).with_columns(
        pred["remaining_days"].alias("model_remaining"),
        pred["next_code"].alias("model_next"),
        *([pred["breach_probability"].alias("model_breach")] if sla_seconds is not None else []),
    )
    rows: list[dict[str, Any]] = []
    at_least = 2 if protocol == "time_64_16_20" else 1
    rem = scored.filter(pl.col("not_last") & (pl.col("prefix_length") >= at_least))
    err = (pl.col("model_remaining") - pl.col("remaining_days")).abs().mean()
    base_err = (pl.col("base_remaining") - pl.col("remaining_days")).abs().mean()
    mae = rem.select(err, base_err.alias("b")).row(0) if rem.height else (None, None)
    nxt = scored if protocol == "time_2_3" else scored.filter(pl.col("prefix_length") >= 2)
    acc = nxt.select(
        (pl.col("model_next") == pl.col("next_code")).mean(),
        (pl.col("base_next") == pl.col("next_code")).mean().alias("b"),
    ).row(0)
    rows.append(_row(protocol, "next_activity", "accuracy", nxt.height, *acc))
    rows.append(_row(protocol, "remaining_time", "mae_days", rem.height, *mae))
    if sla_seconds is not None:
        risk = scored.filter(pl.col("not_last"))
        labels = risk["breach"]
        rows.append(
            _row(
                protocol,
                "breach_risk",
                "auc",
                risk.height,
                _auc(labels, risk["model_breach"]),
                _auc(labels, risk["base_breach"]),
            )
        )
        rows.append(
            _row(
                protocol,
                "breach_risk",
                "brier",
                risk.height,
                _brier(labels, risk["model_breach"]),
                _brier(labels, risk["base_breach"]),
            )
        )
    by_prefix = (
        scored.with_columns(pl.col("prefix_length").clip(upper_bound=10).alias("prefix"))
        .group_by("prefix")
        .agg(
            pl.len().alias("prefixes"),
            (pl.col("model_next") == pl.col("next_code")).mean().alias("model_accuracy"),
            (pl.col("base_next") == pl.col("next_code")).mean().alias("baseline_accuracy"),
            (pl.col("model_remaining") - pl.col("remaining_days"))
            .abs()
            .filter(pl.col("not_last"))
            .mean()
            .alias("model_mae_days"),
            (pl.col("base_remaining") - pl.col("remaining_days"))
            .abs()
            .filter(pl.col("not_last"))
            .mean()
            .alias("baseline_mae_days"),
        )
        .sort("prefix")
    )
    split = {
        "train_cases": train_ids.len(),
        "test_cases": test_ids.len(),
        "validation_cases": model.info["validation_cases"],
        "test_starts_at": _first(test_events),
        "rounds": model.info["rounds"],
    }
    return rows, by_prefix, split, model


def _first(events: pl.DataFrame) -> str | None:
    from ._model import _iso

    return _iso(events[TS].min()) if events.height else None


def evaluate_predictor(
    log: EventLog,
    *,
    closed_activities: Collection[str] | None = None,
    attributes: Sequence[str] | None = None,
    sla_seconds: float | None = None,
    sla_measure: SlaMeasure = "total",
    timezone: str = "UTC",
    protocols: Sequence[str] = tuple(PROTOCOLS),
    seed: int = 0,
    on_step: Progress | None = None,
) -> PredictionEvaluation:
    """Train on the earlier closed cases of ``log``, test on the later ones, beside baselines.

    Same options as :func:`train_predictor`; ``protocols`` picks among ``"time_2_3"`` and
    ``"time_64_16_20"`` (see the module docstring). Open cases are left out: their outcome is
    not known yet.

    Examples
    --------
    >>> evaluate_predictor(log, sla_seconds=14 * 86400).summary  # doctest: +SKIP
    """
    step = on_step or (lambda _msg: None)
    for p in protocols:
        if p not in PROTOCOLS:
            raise InvalidParameterError(
                f"unknown protocol {p!r}; choose from {', '.join(PROTOCOLS)}"
            )
    if attributes is not None:
        unknown = [a for a in attributes if a not in log.attributes]
        if unknown:
            raise InvalidParameterError(
                f"unknown attribute(s) {', '.join(map(repr, unknown))}; the log has: "
                f"{', '.join(map(repr, log.attributes)) or 'none'}"
            )
    chosen = tuple(log.attributes if attributes is None else attributes)
    step("Reading the closed cases")
    events = events_frame(log).drop([f"attr:{a}" for a in log.attributes if a not in chosen])
    closing = (
        tuple(sorted(set(closed_activities)))
        if closed_activities is not None
        else infer_closed_activities(events)
    )
    closed = closed_case_ids(events, closing) if closing else pl.Series(CASE, [], pl.String)
    needed = 5 * MIN_CLOSED_CASES
    if closed.len() < needed:
        raise PredictionError(
            f"too few closed cases to evaluate: {closed.len()} (need at least {needed}); "
            f"closing activities: {', '.join(closing) or 'none found'}"
        )
    events = events.filter(pl.col(CASE).is_in(closed.implode()))
    rows: list[dict[str, Any]] = []
    by_prefix = pl.DataFrame()
    splits: dict[str, dict[str, Any]] = {}
    for protocol in protocols:
        r, bp, split, _model = _run(
            protocol,
            events,
            attributes=chosen,
            closing=closing,
            sla_seconds=sla_seconds,
            sla_measure=sla_measure,
            timezone=timezone,
            seed=seed,
            step=step,
        )
        rows += r
        splits[protocol] = split
        if protocol == "time_2_3":
            by_prefix = bp
    summary = pl.DataFrame(
        rows,
        schema={
            "protocol": pl.String,
            "task": pl.String,
            "metric": pl.String,
            "prefixes": pl.Int64,
            "model": pl.Float64,
            "baseline": pl.Float64,
            "better": pl.Boolean,
        },
    )
    return PredictionEvaluation(summary=summary, by_prefix=by_prefix, splits=splits)
