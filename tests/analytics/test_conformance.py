"""Conformance to a process definition: hand-made logs with known answers, and the helpdesk log."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl
import pytest

from serviceloop.analytics import EmptyLogError, from_polars
from serviceloop.analytics.conformance import check_conformance
from serviceloop.analytics.process_model import parse_process_yaml

from .conftest import HELPDESK

# a -> b -> c -> d (end); b -> d is an escalation (so c is optional); c -> b is rework.
SPEC = parse_process_yaml(
    """
process: {code: t, name: Test}
stages:
  - {code: a, name: Open, name_zh: 受理, start: true, time_standard_minutes: 10}
  - {code: b, name: Work, time_standard_minutes: 60}
  - {code: c, name: Check}
  - {code: d, name: Done, end: true}
transitions:
  - {from: a, to: b}
  - {from: b, to: c}
  - {from: c, to: d}
  - {from: b, to: d, kind: escalation}
  - {from: c, to: b, kind: rework}
"""
)

T0 = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)


def _log(rows: list[tuple[str, str, int]], **extra: list[Any]) -> pl.DataFrame:
    """Rows of (case, activity, minutes after T0)."""
    return pl.DataFrame(
        {
            "case_id": [r[0] for r in rows],
            "activity": [r[1] for r in rows],
            "timestamp": [T0 + dt.timedelta(minutes=r[2]) for r in rows],
            **extra,
        }
    )


ROWS = [
    # 1: conforms (a b c d), b takes 90 min > 60 standard
    ("1", "Open", 0), ("1", "Work", 5), ("1", "Check", 95), ("1", "Done", 100),
    # 2: conforms through the escalation edge, maps by code and Chinese name; a note is unmapped
    ("2", "受理", 0), ("2", "note", 1), ("2", "b", 2), ("2", "d", 3),
    # 3: jumps a -> c (not allowed), and skips mandatory b
    ("3", "Open", 0), ("3", "Check", 20), ("3", "Done", 30),
    # 4: starts at Work (wrong start), still open
    ("4", "Work", 0), ("4", "Check", 1),
    # 5: rework c -> b allowed, then a repeated stage d -> d (not allowed)
    ("5", "open", 0), ("5", "WORK ", 1), ("5", "Check", 2), ("5", "Work", 3), ("5", "Done", 4),
    ("5", "Done", 5),
    # 6: only unmapped activities
    ("6", "note", 0),
]  # fmt: skip


@pytest.fixture(scope="module")
def result():
    return check_conformance(_log(ROWS), SPEC)


def test_activities_map_by_code_name_chinese_name_and_case_insensitively(result):
    mapping = dict(result.activities.select("activity", "stage").iter_rows())
    assert mapping == {
        "Open": "a",
        "受理": "a",
        "open": "a",
        "Work": "b",
        "WORK ": "b",
        "b": "b",
        "Check": "c",
        "Done": "d",
        "d": "d",
        "note": None,
    }
    assert result.summary["unmapped_activities"] == 1
    assert result.summary["unmapped_events"] == 2


def test_summary_counts_moves_and_cases(result):
    s = result.summary
    assert s["cases"] == 6 and s["events"] == 20 and s["stage_events"] == 18
    # moves: 4 + 3 + 3 + 2 + 6 = 18 (case 6 has none); disallowed: 3's a->c, 4's start, 5's d->d
    assert s["moves"] == 18 and s["allowed_moves"] == 15
    assert s["move_fitness"] == pytest.approx(15 / 18)
    assert s["conforming_cases"] == 2 and s["case_fitness"] == pytest.approx(2 / 6)
    assert s["completed_cases"] == 4
    assert s["cases_with_wrong_start"] == 1
    assert s["cases_with_disallowed_transitions"] == 2
    assert s["cases_skipping_mandatory_stages"] == 1
    assert s["cases_without_stage_events"] == 1
    assert s["mandatory_stages"] == ["a", "b", "d"]


def test_per_case_rows(result):
    rows = {r["case_id"]: r for r in result.cases.iter_rows(named=True)}
    assert [rows[c]["conforming"] for c in "123456"] == [True, True, False, False, False, False]
    assert rows["3"]["skipped"] == ["b"] and rows["1"]["skipped"] == []
    assert rows["4"]["starts_at_start"] is False and rows["4"]["completed"] is False
    assert rows["5"]["moves"] == 6 and rows["5"]["allowed_moves"] == 5
    assert rows["5"]["fitness"] == pytest.approx(5 / 6)
    assert rows["6"]["moves"] == 0 and rows["6"]["events"] == 1
    assert rows["1"]["over_standard"] == 1


def test_deviations_name_case_kind_and_stages(result):
    got = result.deviations.select("case_id", "kind", "source", "target").rows()
    assert got == [
        ("3", "transition", "a", "c"),
        ("3", "skipped", None, "b"),
        ("4", "start", None, "b"),
        ("5", "transition", "d", "d"),
    ]
    ts = result.deviations.filter(pl.col("case_id") == "3")["timestamp"].to_list()
    assert ts == [T0 + dt.timedelta(minutes=20), None]


def test_transitions_carry_kind_and_allowed(result):
    rows = {(r["source"], r["target"]): r for r in result.transitions.iter_rows(named=True)}
    assert rows[("c", "b")]["kind"] == "rework" and rows[("c", "b")]["allowed"]
    assert rows[("b", "d")]["kind"] == "escalation" and rows[("b", "d")]["count"] == 2
    assert rows[("a", "c")]["kind"] is None and not rows[("a", "c")]["allowed"]
    assert rows[(None, "a")]["count"] == 4 and rows[(None, "a")]["allowed"]
    assert rows[(None, "b")]["allowed"] is False
    assert sum(r["count"] for r in rows.values()) == result.summary["moves"]


def test_time_in_stage_uses_the_next_stage_event_and_flags_time_standards(result):
    times = {r["stage"]: r for r in result.stage_times.iter_rows(named=True)}
    # b visits: 1: 90 min, 2: 1 min, 4: 1 min, 5: 1 and 1 min -> one over 60 min
    assert times["b"]["visits"] == 5 and times["b"]["measured"] == 5
    assert times["b"]["over_standard"] == 1 and times["b"]["share_over"] == pytest.approx(0.2)
    assert times["b"]["standard_seconds"] == 3600.0
    assert times["b"]["median_seconds"] == 60.0
    # c has no standard; d visits end cases (not measured except 5's first Done)
    assert times["c"]["share_over"] is None and times["d"]["measured"] == 1
    over = result.over_standard.row(0, named=True)
    assert (over["case_id"], over["stage"], over["seconds"], over["over_seconds"]) == (
        "1",
        "b",
        5400.0,
        1800.0,
    )
    assert over["entered"] == T0 + dt.timedelta(minutes=5)
    # a: case 3 spends 20 min in Open, over its 10-minute standard
    assert times["a"]["over_standard"] == 1


def test_start_timestamps_measure_processing_time():
    rows = [("1", "Open", 30), ("1", "Work", 200), ("1", "Done", 210)]
    starts = [T0, T0 + dt.timedelta(minutes=100), T0 + dt.timedelta(minutes=205)]
    r = check_conformance(_log(rows, start_timestamp=starts), SPEC)
    times = {t["stage"]: t for t in r.stage_times.iter_rows(named=True)}
    assert times["a"]["mean_seconds"] == 30 * 60.0 and times["a"]["over_standard"] == 1
    assert times["b"]["mean_seconds"] == 100 * 60.0 and times["b"]["over_standard"] == 1
    assert times["d"]["mean_seconds"] == 5 * 60.0


def test_fitness_per_stage_variant(result):
    v = {tuple(r["stages"]): r for r in result.variants.iter_rows(named=True)}
    # cases 1 and 2 differ in activities but 2 skips c through the escalation edge
    assert v[("a", "b", "c", "d")]["count"] == 1 and v[("a", "b", "c", "d")]["fitness"] == 1.0
    assert v[("a", "c", "d")]["fitness"] == pytest.approx(2 / 3)
    assert v[("a", "c", "d")]["share_conforming"] == 0.0
    assert v[("a", "b", "d")]["share_conforming"] == 1.0
    assert v[()]["moves"] == 0 and v[()]["fitness"] is None  # case 6: no stage events
    assert result.variants["count"].sum() == 6


def test_unmapped_activities_do_not_split_stage_variants():
    rows = [("1", "Open", 0), ("1", "note", 1), ("1", "Work", 2), ("1", "Done", 3)]
    rows += [("2", "Open", 0), ("2", "Work", 2), ("2", "call", 3), ("2", "Done", 4)]
    r = check_conformance(_log(rows), SPEC)
    assert r.variants.select("stages", "count", "conforming").rows() == [(["a", "b", "d"], 2, 2)]


def test_accepts_an_event_log_and_to_dict_is_json(result):
    log = from_polars(_log(ROWS))
    again = check_conformance(log, SPEC)
    assert again.summary == result.summary
    d = result.to_dict(cases=True)
    json.dumps(d)
    assert d["process"] == "t"
    assert d["unmapped_activities"] == [{"activity": "note", "events": 2, "cases": 2}]
    assert {(t["source"], t["target"]) for t in d["disallowed_transitions"]} == {
        ("a", "c"),
        (None, "b"),
        ("d", "d"),
    }
    assert d["skipped_stages"] == [{"stage": "b", "cases": 1}]
    assert len(d["cases"]) == 6 and len(d["deviations"]) == 4
    assert "cases" not in result.to_dict()


def test_empty_log_is_refused():
    empty = from_polars(_log(ROWS)).to_polars().head(0)
    with pytest.raises(EmptyLogError):
        check_conformance(empty, SPEC)


def test_helpdesk_log_against_a_small_definition(helpdesk):
    spec = parse_process_yaml(
        """
process: {code: helpdesk, name: Helpdesk}
stages:
  - {code: assign, name: Assign seriousness, start: true}
  - {code: take, name: Take in charge ticket, time_standard_minutes: 1440}
  - {code: resolve, name: Resolve ticket}
  - {code: closed, name: Closed, end: true}
transitions:
  - {from: assign, to: take}
  - {from: take, to: resolve}
  - {from: resolve, to: closed}
  - {from: resolve, to: take, kind: rework}
"""
    )
    r = check_conformance(helpdesk, spec)
    s = r.summary
    # Independent recount in plain Python over the raw file.
    raw = pl.read_csv(HELPDESK, columns=["Case ID", "Activity", "Complete Timestamp"])
    stage = {"Assign seriousness": "assign", "Take in charge ticket": "take"}
    stage |= {"Resolve ticket": "resolve", "Closed": "closed"}
    ok_edges = {("assign", "take"), ("take", "resolve"), ("resolve", "closed")}
    ok_edges |= {("resolve", "take")}
    raw = raw.with_row_index().sort(["Case ID", "Complete Timestamp", "index"])
    seqs: dict[str, list[str]] = {}
    for case, act in raw.select("Case ID", "Activity").iter_rows():
        seqs.setdefault(case, [])
        if act in stage:
            seqs[case].append(stage[act])
    moves = sum(len(q) for q in seqs.values())
    allowed = 0
    conforming = 0
    for q in seqs.values():
        good = [(q[i - 1], st) in ok_edges if i else st == "assign" for i, st in enumerate(q)]
        allowed += sum(good)
        done = "closed" in q
        skipped = done and not {"assign", "take", "resolve", "closed"} <= set(q)
        conforming += bool(q) and all(good) and not skipped
    assert s["cases"] == len(seqs) == 4580
    assert s["events"] == 21348
    assert s["moves"] == moves and s["allowed_moves"] == allowed
    assert s["conforming_cases"] == conforming
    assert s["unmapped_activities"] == 10
    assert r.variants["count"].sum() == 4580


def test_same_answers_on_every_engine(engine):
    log = engine(from_polars(_log(ROWS)))
    r = check_conformance(log, SPEC)
    base = check_conformance(from_polars(_log(ROWS)), SPEC)
    assert r.summary == base.summary
    assert r.deviations.equals(base.deviations)
