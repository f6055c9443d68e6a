"""Case prediction: known answers on synthetic logs, no leakage, save/load, bad input, real logs."""

from __future__ import annotations

import json
import random
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from serviceloop.analytics import from_polars, read_csv
from serviceloop.analytics.prediction import (
    ModelFileError,
    PredictionError,
    _evaluate,
    evaluate_predictor,
    load_predictor,
    train_predictor,
)
from serviceloop.analytics.prediction._features import (
    build_vocabulary,
    events_frame,
    prefix_features,
)

from .conftest import HELPDESK, TAX2017

T0 = datetime(2024, 1, 1, 8, 0)
HOUR = timedelta(hours=1)


def branching_rows(n: int, *, seed: int = 1, prefix: str = "c", start: datetime = T0) -> list:
    """Fast cases: Open, Answer (+1 h), Closed (+1 h). Slow ones: Open, Escalate (+10 h),
    Closed (+10 h). Only the case's ``kind`` attribute tells them apart after "Open"."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        kind = rng.choice(["fast", "slow"])
        t = start + i * 30 * timedelta(minutes=1)
        step = HOUR if kind == "fast" else 10 * HOUR
        middle = "Answer" if kind == "fast" else "Escalate"
        for k, act in enumerate(["Open", middle, "Closed"]):
            rows.append((f"{prefix}{i}", act, t + k * step, f"agent{i % 3}", kind))
    return rows


def to_log(rows: list, **kw):
    frame = pl.DataFrame(
        rows, schema=["case_id", "activity", "timestamp", "resource", "kind"], orient="row"
    )
    return from_polars(frame, **kw)


@pytest.fixture(scope="module")
def branching():
    return to_log(branching_rows(300))


@pytest.fixture(scope="module")
def model(branching):
    return train_predictor(branching, sla_seconds=5 * 3600)


# -- known answers ------------------------------------------------------------------------------


def test_open_cases_get_the_answer_their_attribute_implies(model):
    live = to_log(
        [
            ("new-fast", "Open", T0 + 400 * HOUR, "agent1", "fast"),
            ("new-slow", "Open", T0 + 401 * HOUR, "agent2", "slow"),
            ("done", "Open", T0 + 402 * HOUR, "agent1", "fast"),
            ("done", "Answer", T0 + 403 * HOUR, "agent1", "fast"),
            ("done", "Closed", T0 + 404 * HOUR, "agent1", "fast"),
        ]
    )
    scores = {r["case_id"]: r for r in model.score(live).iter_rows(named=True)}
    assert set(scores) == {"new-fast", "new-slow"}  # the closed case is not scored
    fast, slow = scores["new-fast"], scores["new-slow"]
    assert (fast["next_activity"], slow["next_activity"]) == ("Answer", "Escalate")
    assert fast["next_probability"] > 0.9 and slow["next_probability"] > 0.9
    assert fast["remaining_seconds"] == pytest.approx(2 * 3600, rel=0.1)
    assert slow["remaining_seconds"] == pytest.approx(20 * 3600, rel=0.1)
    assert fast["breach_probability"] < 0.1 < 0.9 < slow["breach_probability"]
    ahead = (fast["expected_end"] - fast["last_timestamp"]).total_seconds()
    assert ahead == pytest.approx(fast["remaining_seconds"], abs=1e-3)


def test_the_second_event_decides_the_rest_without_the_attribute():
    log = to_log(branching_rows(300), attributes=[])
    m = train_predictor(log)
    live = to_log(
        [
            ("a", "Open", T0 + 500 * HOUR, "agent1", "x"),
            ("a", "Escalate", T0 + 510 * HOUR, "agent1", "x"),
        ],
        attributes=[],
    )
    row = m.score(live).row(0, named=True)
    assert row["next_activity"] == "Closed"
    assert row["remaining_seconds"] == pytest.approx(10 * 3600, rel=0.1)
    assert m.vocab.attributes == ()


def test_evaluation_beats_the_prefix_baseline_where_an_attribute_decides(branching):
    result = evaluate_predictor(branching, sla_seconds=5 * 3600, protocols=["time_2_3"])
    rows = {(r["task"], r["metric"]): r for r in result.summary.iter_rows(named=True)}
    nxt = rows["next_activity", "accuracy"]
    assert nxt["model"] == pytest.approx(1.0)
    assert nxt["baseline"] < 0.9  # after "Open" the majority guess is right half the time
    assert nxt["prefixes"] == 100 * 3  # the last third of 300 cases, every prefix
    mae = rows["remaining_time", "mae_days"]
    assert mae["model"] < 0.05 < mae["baseline"]
    assert rows["breach_risk", "auc"]["model"] > 0.99
    assert all(result.summary["better"])
    assert result.splits["time_2_3"]["train_cases"] == 200
    assert result.by_prefix["prefix"].to_list() == [1, 2, 3]


def test_closing_activities_are_inferred_or_given(branching):
    m = train_predictor(branching)
    assert m.closed_activities == ("Closed",)
    m2 = train_predictor(branching, closed_activities=["Answer", "Closed"])
    assert m2.closed_activities == ("Answer", "Closed")
    live = to_log([("x", "Open", T0, "agent1", "fast"), ("x", "Answer", T0 + HOUR, "a", "fast")])
    assert m.score(live).height == 1
    assert m2.score(live).height == 0


# -- no leakage ------------------------------------------------------------------------------


def test_evaluation_trains_on_earlier_cases_only(branching, monkeypatch):
    seen: list[pl.DataFrame] = []
    real_fit = _evaluate.fit_events

    def spy(events, **kw):
        seen.append(events)
        return real_fit(events, **kw)

    monkeypatch.setattr(_evaluate, "fit_events", spy)
    evaluate_predictor(branching, protocols=["time_2_3", "time_64_16_20"])
    events = events_frame(branching)
    starts = events.group_by("case").agg(pl.col("ts").min()).sort("ts", "case")
    for training, share in zip(seen, (2 / 3, 0.8), strict=True):
        train_ids = set(training["case"])
        cut = int(starts.height * share)
        assert train_ids == set(starts["case"].head(cut))
        assert not train_ids & set(starts["case"].slice(cut))
        assert training["ts"].min() >= events["ts"].min()


def test_the_trained_model_ignores_test_cases_events(branching, monkeypatch):
    """Rewrite every event of the test cases: the models learned must not change by a bit."""
    models = []
    real_fit = _evaluate.fit_events

    def keep(events, **kw):
        m = real_fit(events, **kw)
        models.append(m)
        return m

    monkeypatch.setattr(_evaluate, "fit_events", keep)
    rows = branching_rows(300)
    test_ids = {f"c{i}" for i in range(200, 300)}
    scrambled = [
        (
            c,
            "Escalate" if a == "Answer" else a,
            t + (7 * HOUR if a == "Closed" else HOUR * 0),
            r,
            "x",
        )
        if c in test_ids
        else (c, a, t, r, k)
        for c, a, t, r, k in rows
    ]
    kw = {"sla_seconds": 5 * 3600, "protocols": ["time_2_3"]}
    first = evaluate_predictor(to_log(rows), **kw)
    second = evaluate_predictor(to_log(scrambled), **kw)
    a, b = models
    for name in ("remaining_model", "next_model", "risk_model"):
        assert getattr(a, name).model_to_string() == getattr(b, name).model_to_string()
    assert a.vocab == b.vocab
    assert not first.summary.equals(second.summary)  # the test cases did change


def test_prefix_features_only_use_events_up_to_the_prefix():
    log = read_csv(
        HELPDESK,
        case="Case ID",
        activity="Activity",
        timestamp="Complete Timestamp",
        resource="Resource",
        duplicates="keep",
        attributes=["seriousness", "service_level", "customer"],
    )
    events = events_frame(log).head(3000)
    vocab = build_vocabulary(
        events, attributes=("seriousness", "service_level", "customer"), timezone="Europe/Rome"
    )
    full = prefix_features(events, vocab)
    events = events.with_columns(pl.int_range(pl.len()).over("case").alias("__k"))
    for k in (0, 1, 2, 4):
        cut = events.filter(pl.col("__k") <= k).drop("__k")
        truncated = prefix_features(cut, vocab)
        assert truncated.height < full.height
        assert truncated.equals(full.filter(events["__k"] <= k))


# -- save and load ----------------------------------------------------------------------------


def test_a_saved_model_scores_the_same_after_loading(model, branching, tmp_path):
    path = model.save(tmp_path / "m.slpm")
    loaded = load_predictor(path)
    live = to_log(branching_rows(20, seed=7, prefix="live", start=T0 + 1000 * HOUR)[::3])
    assert loaded.score(live).equals(model.score(live))
    assert loaded.vocab == model.vocab
    assert loaded.sla_seconds == model.sla_seconds
    assert loaded.closed_activities == model.closed_activities
    assert loaded.info == model.info
    assert not (tmp_path / "m.slpm.partial").exists()
    with zipfile.ZipFile(path) as zf:  # data only: JSON and LightGBM's text format
        assert sorted(zf.namelist()) == ["meta.json", "next.txt", "remaining.txt", "risk.txt"]


def test_loading_refuses_files_that_are_not_our_models(model, tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_predictor(tmp_path / "missing.slpm")
    junk = tmp_path / "junk.slpm"
    junk.write_bytes(b"\x80\x04not a zip")
    with pytest.raises(ModelFileError, match="not a readable model file"):
        load_predictor(junk)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("meta.json", json.dumps({"format": "something else"}))
    with pytest.raises(ModelFileError, match="not a ServiceLoop case-prediction model"):
        load_predictor(other)
    good = model.save(tmp_path / "good.slpm")
    old = tmp_path / "old.slpm"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(old, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "meta.json":
                meta = json.loads(data)
                meta["version"] = 99
                data = json.dumps(meta).encode()
            dst.writestr(name, data)
    with pytest.raises(ModelFileError, match="version 99"):
        load_predictor(old)
    broken = tmp_path / "broken.slpm"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, b"garbage" if name == "next.txt" else src.read(name))
    with pytest.raises(ModelFileError, match="damaged model"):
        load_predictor(broken)


# -- bad input ------------------------------------------------------------------------------


def test_too_few_closed_cases_is_a_clear_error():
    log = to_log(branching_rows(12))
    with pytest.raises(PredictionError, match=r"too few closed cases to learn from: 12 \(need"):
        train_predictor(log)
    with pytest.raises(PredictionError, match="too few closed cases to evaluate: 12"):
        evaluate_predictor(log)


def test_a_log_without_a_closing_activity_is_refused():
    rows = [
        (f"c{i}", a, T0 + i * HOUR + k * HOUR, "r", "x")
        for i in range(40)
        for k, a in enumerate(["A", "B", "A", "B"][: 2 + i % 3])
    ]
    with pytest.raises(PredictionError, match="name the closing activities"):
        train_predictor(to_log(rows))


def test_an_sla_every_case_breaches_is_refused(branching):
    with pytest.raises(
        PredictionError, match="every closed case breaches the SLA target of 1 hours"
    ):
        train_predictor(branching, sla_seconds=3600)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sla_seconds": -5}, "sla_seconds must be a positive number"),
        ({"sla_seconds": 3600, "sla_measure": "daily"}, "sla_measure must be"),
        ({"validation": 1.5}, "validation must be in"),
        ({"attributes": ["colour"]}, "unknown attribute"),
        ({"max_rounds": 0}, "max_rounds must be at least 1"),
    ],
)
def test_bad_arguments_name_the_argument(branching, kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_predictor(branching, **kwargs)


def test_an_unknown_protocol_is_refused(branching):
    with pytest.raises(ValueError, match="unknown protocol 'random'"):
        evaluate_predictor(branching, protocols=["random"])


# -- the real help-desk logs (the numbers the docs report) ------------------------------------


def test_tax2017_next_activity_against_the_published_baseline():
    log = read_csv(
        TAX2017,
        case="CaseID",
        activity="ActivityID",
        timestamp="CompleteTimestamp",
        duplicates="keep",
    )
    result = evaluate_predictor(log, protocols=["time_2_3"])
    row = result.summary.filter(pl.col("task") == "next_activity").row(0, named=True)
    assert row["baseline"] == pytest.approx(0.82, abs=0.01)  # tests/data/README.md
    assert row["model"] > row["baseline"]
    assert row["prefixes"] == 4143


def test_helpdesk_remaining_time_beats_the_median_baseline():
    log = read_csv(
        HELPDESK,
        case="Case ID",
        activity="Activity",
        timestamp="Complete Timestamp",
        resource="Resource",
        duplicates="keep",
        attributes=[
            "seriousness",
            "customer",
            "product",
            "responsible_section",
            "seriousness_2",
            "service_level",
            "service_type",
            "support_section",
            "workgroup",
        ],
    )
    result = evaluate_predictor(log, protocols=["time_64_16_20"])
    row = result.summary.filter(pl.col("task") == "remaining_time").row(0, named=True)
    assert row["baseline"] > 9  # "about 10 days for a median baseline"
    assert row["model"] < 6


def test_model_file_is_written_only_when_complete(model, tmp_path, monkeypatch):
    target = tmp_path / "m.slpm"

    def boom():
        raise RuntimeError("disk full")

    monkeypatch.setattr(model.next_model, "model_to_string", boom)
    with pytest.raises(RuntimeError):
        model.save(target)
    assert not target.exists() and not Path(str(target) + ".partial").exists()


def test_closed_cases_can_be_named_and_cases_scored_by_id(branching):
    closed = [f"c{i}" for i in range(0, 300, 2)]
    m = train_predictor(branching, closed_cases=closed)
    assert m.info["closed_cases"] == 150
    scores = m.score(branching, cases=["c1", "c2", "unknown"])
    assert sorted(scores["case_id"]) == ["c1", "c2"]  # closed or not; unknown ids are skipped
    assert scores.filter(pl.col("case_id") == "c1")["next_activity"].item() == "(end)"
    with pytest.raises(PredictionError, match=r"learn from: 10 .*10 case id\(s\) given"):
        train_predictor(branching, closed_cases=closed[:10])
