"""Training, scoring, saving and loading a :class:`CasePredictor`.

Three LightGBM models over the same prefix features: remaining time (L1 regression, so it aims
at the median and MAE), the next activity (multiclass, "end of case" included) and, when an SLA
target is given, the probability of breaching it (binary). A model file is a zip of JSON and
LightGBM's own text format: loading it parses data and never runs code (unlike a pickle).
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl

from .._log import EventLog
from .._schema import US
from ..errors import AnalyticsError, InvalidParameterError
from ._features import (
    ACT,
    CASE,
    DAY,
    END,
    TS,
    Vocabulary,
    add_targets,
    build_vocabulary,
    events_frame,
    feature_matrix,
    prefix_features,
)

__all__ = [
    "MIN_CLOSED_CASES",
    "CasePredictor",
    "ModelFileError",
    "PredictionError",
    "closed_case_ids",
    "fit_events",
    "infer_closed_activities",
    "load_predictor",
    "train_predictor",
]

FORMAT = "serviceloop-case-predictor"
VERSION = 1
MIN_CLOSED_CASES = 20
SlaMeasure = Literal["total", "remaining"]
Progress = Callable[[str], None]


class PredictionError(AnalyticsError):
    """The log cannot train or be scored by a model (too few closed cases, nothing open, ...)."""


class ModelFileError(PredictionError):
    """A model file is missing, not a ServiceLoop model, or from an incompatible version."""

    def __init__(self, message: str, *, path: str | Path) -> None:
        self.path = str(path)
        super().__init__(f"{path}: {message}")


def _params(objective: str, seed: int, threads: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "objective": objective,
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 10,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.9,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "max_cat_to_onehot": 8,
        "cat_smooth": 10,
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        # One thread by default: on a busy machine LightGBM's OpenMP threads wait for each other
        # (a help-desk evaluation took 83 s with two threads beside other work, 7 s with one).
        "num_threads": threads,
        "verbosity": -1,
        **extra,
    }


def infer_closed_activities(events: pl.DataFrame) -> tuple[str, ...]:
    """Activities that end their case in at least 90 % of their occurrences ("Closed")."""
    last = (pl.int_range(pl.len()).over(CASE) == pl.len().over(CASE) - 1).alias("is_last")
    shares = (
        events.select(ACT, last)
        .group_by(ACT)
        .agg(pl.col("is_last").mean().alias("share"), pl.col("is_last").sum().alias("ends"))
        .filter((pl.col("share") >= 0.9) & (pl.col("ends") > 0))
    )
    return tuple(sorted(shares[ACT].to_list()))


def closed_case_ids(events: pl.DataFrame, closed_activities: Collection[str]) -> pl.Series:
    """Cases whose last event is one of ``closed_activities``."""
    last = events.group_by(CASE, maintain_order=True).agg(pl.col(ACT).last())
    return last.filter(pl.col(ACT).is_in(list(closed_activities)))[CASE]


@dataclass
class CasePredictor:
    """Remaining time, next activity and SLA-breach risk of open cases, learned from closed ones.

    Build one with :func:`train_predictor`, or :func:`load_predictor` a saved one. Scoring takes
    any log with the same activity names (new activities, resources or attribute values are
    treated as unseen, not as errors).

    Examples
    --------
    >>> model = train_predictor(log, sla_seconds=5 * 86400)  # doctest: +SKIP
    >>> model.score(live_log).sort("breach_probability", descending=True)  # doctest: +SKIP
    """

    vocab: Vocabulary
    closed_activities: tuple[str, ...]
    remaining_model: Any
    next_model: Any
    risk_model: Any | None = None
    sla_seconds: float | None = None
    sla_measure: SlaMeasure = "total"
    info: dict[str, Any] = field(default_factory=dict)

    # -- scoring ---------------------------------------------------------------------------
    def predict_prefixes(self, features: pl.DataFrame) -> pl.DataFrame:
        """Predictions for each row of a :func:`prefix_features` frame (all three tasks)."""
        x = feature_matrix(features, self.vocab)
        remaining = (
            self.remaining_model.predict(x, num_threads=1).clip(min=0)
            if len(x)
            else x[:, :0].sum(1)
        )
        probs = self.next_model.predict(x, num_threads=1) if len(x) else x[:, :0]
        names = pl.Series([*self.vocab.activities, "(unseen)", END])
        best = probs.argmax(axis=1) if len(x) else x[:, :0].sum(1).astype(int)
        out = features.select(CASE, ACT, TS, "prefix_length", "elapsed_days").with_columns(
            pl.Series("remaining_days", remaining, dtype=pl.Float64),
            pl.Series("next_code", best, dtype=pl.Int64),
            pl.Series("next_probability", probs.max(axis=1) if len(x) else remaining),
        )
        out = out.with_columns(
            pl.lit(names).gather(pl.col("next_code")).alias("next_activity")
            if len(x)
            else pl.lit(None, pl.String).alias("next_activity")
        )
        if self.risk_model is not None and self.sla_seconds is not None:
            risk = self.risk_model.predict(x, num_threads=1) if len(x) else remaining
            out = out.with_columns(pl.Series("breach_probability", risk, dtype=pl.Float64))
            if self.sla_measure == "total":
                already = pl.col("elapsed_days") * DAY > self.sla_seconds * US
                out = out.with_columns(
                    pl.when(already)
                    .then(1.0)
                    .otherwise(pl.col("breach_probability"))
                    .alias("breach_probability")
                )
        return out

    def score(
        self,
        log: EventLog,
        *,
        cases: Collection[str] | None = None,
        include_closed: bool = False,
        on_step: Progress | None = None,
    ) -> pl.DataFrame:
        """One row per open case (its last event is not a closing activity), at its last event;
        with ``cases``, one row per case of that list that the log has, open or not.

        Columns: ``case_id``, ``events``, ``last_activity``, ``last_timestamp``,
        ``elapsed_seconds``, ``remaining_seconds``, ``expected_end``, ``next_activity``,
        ``next_probability`` and, with an SLA target, ``breach_probability``.
        """
        step = on_step or (lambda _msg: None)
        step("Building prefix features")
        events = events_frame(log)
        if cases is not None:
            wanted = pl.Series(CASE, list(cases), dtype=pl.String)
            events = events.filter(pl.col(CASE).is_in(wanted.implode()))
        elif not include_closed:
            closed = closed_case_ids(events, self.closed_activities)
            events = events.filter(~pl.col(CASE).is_in(closed.implode()))
        features = prefix_features(events, self.vocab)
        last = features.filter(pl.col("prefix_length") == pl.col("prefix_length").max().over(CASE))
        step(f"Scoring {last.height} open cases")
        pred = self.predict_prefixes(last)
        cols = [
            pl.col(CASE).alias("case_id"),
            pl.col("prefix_length").alias("events"),
            pl.col(ACT).alias("last_activity"),
            pl.from_epoch(TS, "us").dt.replace_time_zone("UTC").alias("last_timestamp"),
            (pl.col("elapsed_days") * 86_400).alias("elapsed_seconds"),
            (pl.col("remaining_days") * 86_400).alias("remaining_seconds"),
            (
                pl.from_epoch(TS, "us").dt.replace_time_zone("UTC")
                + pl.duration(microseconds=(pl.col("remaining_days") * DAY).cast(pl.Int64))
            ).alias("expected_end"),
            "next_activity",
            "next_probability",
        ]
        if "breach_probability" in pred.columns:
            cols.append("breach_probability")
        return pred.select(cols)

    # -- persistence -----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model to ``path`` (a zip of JSON and LightGBM text; no pickle)."""
        target = Path(path)
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "vocabulary": self.vocab.to_dict(),
            "closed_activities": list(self.closed_activities),
            "sla_seconds": self.sla_seconds,
            "sla_measure": self.sla_measure,
            "info": self.info,
        }
        partial = target.with_name(target.name + ".partial")
        try:
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("meta.json", json.dumps(meta, ensure_ascii=False, indent=1))
                zf.writestr("remaining.txt", self.remaining_model.model_to_string())
                zf.writestr("next.txt", self.next_model.model_to_string())
                if self.risk_model is not None:
                    zf.writestr("risk.txt", self.risk_model.model_to_string())
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        return target


def load_predictor(path: str | Path) -> CasePredictor:
    """Read a model written by :meth:`CasePredictor.save` (parses JSON and LightGBM text only).

    Raises :class:`ModelFileError` when the file is missing, not such a model, or damaged.
    """
    import lightgbm as lgb

    p = Path(path)
    if not p.is_file():
        raise ModelFileError("no such model file", path=p)
    try:
        with zipfile.ZipFile(p) as zf:
            meta = json.loads(zf.read("meta.json").decode("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise ModelFileError("not a ServiceLoop case-prediction model", path=p)
            if meta.get("version") != VERSION:
                raise ModelFileError(
                    f"model format version {meta.get('version')!r}; this ServiceLoop reads "
                    f"version {VERSION} (retrain the model)",
                    path=p,
                )
            boosters = {
                name: lgb.Booster(model_str=zf.read(f"{name}.txt").decode("utf-8"))
                for name in ("remaining", "next", "risk")
                if f"{name}.txt" in zf.namelist()
            }
            return CasePredictor(
                vocab=Vocabulary.from_dict(meta["vocabulary"]),
                closed_activities=tuple(meta["closed_activities"]),
                remaining_model=boosters["remaining"],
                next_model=boosters["next"],
                risk_model=boosters.get("risk"),
                sla_seconds=meta["sla_seconds"],
                sla_measure=meta["sla_measure"],
                info=meta.get("info", {}),
            )
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"not a readable model file ({exc})", path=p) from exc
    except lgb.basic.LightGBMError as exc:
        raise ModelFileError(f"damaged model ({exc})", path=p) from exc


def train_predictor(
    log: EventLog,
    *,
    closed_activities: Collection[str] | None = None,
    closed_cases: Collection[str] | None = None,
    attributes: Sequence[str] | None = None,
    sla_seconds: float | None = None,
    sla_measure: SlaMeasure = "total",
    timezone: str = "UTC",
    validation: float = 0.2,
    max_prefixes: int | None = 300_000,
    max_rounds: int = 1000,
    seed: int = 0,
    threads: int = 1,
    on_step: Progress | None = None,
) -> CasePredictor:
    """Learn remaining time, next activity and (with ``sla_seconds``) breach risk from the
    closed cases of ``log``.

    Parameters
    ----------
    closed_activities
        A case is closed when its last activity is one of these; ``None`` infers them (the
        activities that end their case in at least 90 % of their occurrences).
    closed_cases
        The ids of the closed cases, when the caller knows them (the live database does): they
        train, whatever their last activity.
    attributes
        The log's attributes used as features; ``None`` uses them all. Leave out anything known
        only once a case has ended (e.g. a "variant" column): it would leak the answer.
    sla_seconds, sla_measure
        The target time of the breach-risk model: a case breaches when its ``"total"`` duration
        (first to last event) or its ``"remaining"`` time after the prefix exceeds it.
    timezone
        Where hours and weekdays of the time features are counted.
    validation
        Share of the training cases, the last ones by start, held out for early stopping.
    max_prefixes
        Learn from the most recent closed cases (by start) up to this many prefixes (events);
        ``None``: all. Recent cases describe today's process best and keep training short.
    max_rounds, seed, threads
        Boosting rounds at most; LightGBM's seed (same seed, same model); its threads.

    Raises
    ------
    PredictionError
        Fewer than ``MIN_CLOSED_CASES`` closed cases, or no closing activity found.
    InvalidParameterError
        An argument out of range or an unknown attribute.
    """
    step = on_step or (lambda _msg: None)
    step("Building prefix features")
    events = events_frame(log)
    if attributes is not None:
        unknown = [a for a in attributes if a not in log.attributes]
        if unknown:
            raise InvalidParameterError(
                f"unknown attribute(s) {', '.join(map(repr, unknown))}; the log has: "
                f"{', '.join(map(repr, log.attributes)) or 'none'}"
            )
    chosen = tuple(log.attributes if attributes is None else attributes)
    dropped = [f"attr:{a}" for a in log.attributes if a not in chosen]
    return fit_events(
        events.drop(dropped),
        attributes=chosen,
        closed_activities=closed_activities,
        closed_cases=closed_cases,
        sla_seconds=sla_seconds,
        sla_measure=sla_measure,
        timezone=timezone,
        validation=validation,
        max_prefixes=max_prefixes,
        max_rounds=max_rounds,
        seed=seed,
        threads=threads,
        on_step=step,
    )


def _check(
    sla_seconds: float | None,
    sla_measure: str,
    validation: float,
    rounds: int,
    threads: int,
    max_prefixes: int | None,
) -> None:
    if sla_seconds is not None and not (math.isfinite(sla_seconds) and sla_seconds > 0):
        raise InvalidParameterError(f"sla_seconds must be a positive number, not {sla_seconds!r}")
    if sla_measure not in ("total", "remaining"):
        raise InvalidParameterError(
            f"sla_measure must be 'total' or 'remaining', not {sla_measure!r}"
        )
    if not 0 <= validation < 0.9:
        raise InvalidParameterError(f"validation must be in [0, 0.9), not {validation!r}")
    if rounds < 1:
        raise InvalidParameterError(f"max_rounds must be at least 1, not {rounds!r}")
    if max_prefixes is not None and max_prefixes < 1:
        raise InvalidParameterError(f"max_prefixes must be at least 1, not {max_prefixes!r}")
    if threads < 1:
        raise InvalidParameterError(f"threads must be at least 1, not {threads!r}")


def fit_events(
    events: pl.DataFrame,
    *,
    attributes: tuple[str, ...],
    closed_activities: Collection[str] | None,
    sla_seconds: float | None,
    sla_measure: SlaMeasure,
    timezone: str,
    validation: float,
    max_rounds: int,
    max_prefixes: int | None = None,
    seed: int,
    on_step: Progress,
    threads: int = 1,
    closed_cases: Collection[str] | None = None,
) -> CasePredictor:
    """Train on an :func:`events_frame` (the evaluation hands it the training cases only)."""
    import lightgbm as lgb

    _check(sla_seconds, sla_measure, validation, max_rounds, threads, max_prefixes)
    step = on_step
    closing = (
        tuple(sorted(set(closed_activities)))
        if closed_activities is not None
        else infer_closed_activities(events)
    )
    if closed_cases is not None:
        known = events[CASE].unique()
        closed = known.filter(known.is_in(pl.Series(list(closed_cases), dtype=pl.String).implode()))
        how = f"{len(closed_cases)} case id(s) given as closed"
    elif not closing:
        raise PredictionError(
            "cannot tell closed cases from open ones: no activity ends its case in at least "
            "90 % of its occurrences; name the closing activities"
        )
    else:
        closed = closed_case_ids(events, closing)
        how = f"closing activities: {', '.join(closing)}"
    if closed.len() < MIN_CLOSED_CASES:
        raise PredictionError(
            f"too few closed cases to learn from: {closed.len()} (need at least "
            f"{MIN_CLOSED_CASES}); {how}"
        )
    events = events.filter(pl.col(CASE).is_in(closed.implode()))
    vocab = build_vocabulary(events, attributes=attributes, timezone=timezone)
    frame = add_targets(prefix_features(events, vocab), vocab)
    # Early-stopping hold-out: the cases that started last (a split by time, as in use).
    starts = frame.group_by(CASE).agg(pl.col(TS).min(), pl.len().alias("n")).sort(TS, CASE)
    if max_prefixes is not None and frame.height > max_prefixes:
        recent = starts.reverse().filter(pl.col("n").cum_sum() <= max_prefixes).reverse()
        starts = recent if recent.height else starts.tail(1)
        frame = frame.filter(pl.col(CASE).is_in(starts[CASE].implode()))
    n_valid = round(starts.height * validation)
    held = starts[CASE].tail(n_valid) if n_valid >= 5 else starts[CASE].head(0)
    is_valid = pl.col(CASE).is_in(held.implode())
    train, valid = frame.filter(~is_valid), frame.filter(is_valid)
    x_train, x_valid = feature_matrix(train, vocab), feature_matrix(valid, vocab)
    cats = vocab.categorical_features()
    names = [n.replace(":", "_").replace(" ", "_") for n in vocab.feature_names()]
    cat_idx = [vocab.feature_names().index(c) for c in cats]

    def fit(objective: str, label: str, rows: pl.Expr | None, **extra: Any) -> Any:
        tr = train if rows is None else train.filter(rows)
        va = valid if rows is None else valid.filter(rows)
        xt = x_train if rows is None else feature_matrix(tr, vocab)
        xv = x_valid if rows is None else feature_matrix(va, vocab)
        data = lgb.Dataset(
            xt,
            tr[label].to_numpy(),
            feature_name=names,
            categorical_feature=cat_idx,
            free_raw_data=False,
        )
        callbacks: list[Any] = []
        sets = []
        if va.height:
            sets = [lgb.Dataset(xv, va[label].to_numpy(), reference=data)]
            callbacks = [lgb.early_stopping(30, verbose=False)]
        # Bigger logs afford bigger leaves: fewer splits on noise (measured on the help desk logs).
        leaf = max(10, min(100, tr.height // 100))
        params = _params(objective, seed, threads, **{"min_data_in_leaf": leaf, **extra})
        booster = lgb.train(
            params, data, num_boost_round=max_rounds, valid_sets=sets, callbacks=callbacks
        )
        if not va.height:
            return booster
        # Refit on all the cases with the rounds the hold-out chose: the held-out cases are the
        # latest, the closest to the cases scored next (measured: tax2017 next activity 0.819 ->
        # 0.82x, remaining time 6.41 -> 6.3x days).
        everything = frame if rows is None else frame.filter(rows)
        whole = lgb.Dataset(
            feature_matrix(everything, vocab),
            everything[label].to_numpy(),
            feature_name=names,
            categorical_feature=cat_idx,
        )
        return lgb.train(params, whole, num_boost_round=max(1, booster.best_iteration))

    not_last = pl.col("prefix_length") < pl.col("case_length")
    step(f"Training remaining time on {train.height} prefixes")
    remaining = fit("l1", "remaining_days", not_last, learning_rate=0.03)
    step("Training next activity")
    next_model = fit(
        "multiclass", "next_code", None, num_class=len(vocab.activities) + 2, learning_rate=0.1
    )
    risk = None
    if sla_seconds is not None:
        step("Training breach risk")
        target = sla_seconds / 86_400
        measure = "total_days" if sla_measure == "total" else "remaining_days"
        breach = (pl.col(measure) > target).cast(pl.Int32).alias("breach")
        train, valid, frame = (f.with_columns(breach) for f in (train, valid, frame))
        labels = train.filter(not_last)["breach"]
        if labels.n_unique() < 2:
            raise PredictionError(
                f"every closed case {'breaches' if labels[0] else 'meets'} the SLA target of "
                f"{_days(sla_seconds)}: a breach risk cannot be learned; choose another target"
            )
        risk = fit("binary", "breach", not_last)
    info = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "closed_cases": closed.len(),
        "cases_used": starts.height,
        "prefixes": frame.height,
        "validation_cases": held.len(),
        "first_event": _iso(events[TS].min()),
        "last_event": _iso(events[TS].max()),
        "attributes": list(attributes),
        "rounds": {
            "remaining": remaining.best_iteration or remaining.current_iteration(),
            "next": next_model.best_iteration or next_model.current_iteration(),
            **(
                {"risk": risk.best_iteration or risk.current_iteration()}
                if risk is not None
                else {}
            ),
        },
    }
    return CasePredictor(
        vocab=vocab,
        closed_activities=closing,
        remaining_model=remaining,
        next_model=next_model,
        risk_model=risk,
        sla_seconds=sla_seconds,
        sla_measure=sla_measure,
        info=info,
    )


def _days(seconds: float) -> str:
    return f"{seconds / 86_400:.4g} days" if seconds >= 86_400 else f"{seconds / 3600:.4g} hours"


def _iso(us: Any) -> str | None:
    if us is None:
        return None
    return datetime.fromtimestamp(int(us) / US, UTC).isoformat(timespec="seconds")
