"""Event-log export: CSV / Parquet / XES carry the same events, stream in bounded batches, and
survive hostile values (XML metacharacters, spreadsheet formulas)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import polars as pl
import pyarrow.parquet as pq
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from serviceloop.cases.choices import EventKind
from serviceloop.cases.export import (
    COLUMNS,
    STAGE_EXPORT_COLUMNS,
    EventLogQuery,
    csv_chunks,
    event_batches,
    neutralise_formula,
    write_parquet,
    xes_chunks,
)
from serviceloop.cases.models import CaseEvent
from serviceloop.cases.services import case_assign, case_transition
from tests.factories import CaseFactory, CustomerFactory, stage_of

pytestmark = pytest.mark.django_db

HOSTILE = "Check <A & B> \"quoted\" 'single' 中文"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def log(world):
    """Three cases: two moved to analysis by the front agent, one with a hostile activity name."""
    cases = []
    for index in range(3):
        case = CaseFactory(customer=CustomerFactory(), actor=None, at=T0 + timedelta(hours=index))
        cases.append(case)
    analysis = stage_of(world.version, "analysis")
    for index, case in enumerate(cases[:2]):
        case_transition(
            case=case,
            to_stage=analysis,
            actor=world.front_agent,
            at=T0 + timedelta(hours=index, minutes=30),
        )
    CaseEvent.objects.create(
        case=cases[2],
        kind=EventKind.FIELD_CHANGED,
        activity=HOSTILE,
        timestamp=T0 + timedelta(hours=5),
        actor=world.manager,
    )
    return cases


def expected_rows(kind: str = "all") -> list[tuple[str, str, str, str]]:
    events = CaseEvent.objects.select_related("case", "actor").order_by(
        "case_id", "timestamp", "id"
    )
    if kind == "stage":
        events = events.filter(kind__in=[EventKind.STAGE_ENTERED, EventKind.CLOSED])
    return [
        (
            e.case.number,
            e.activity,
            e.timestamp.astimezone(UTC).isoformat(timespec="microseconds"),
            e.actor.username if e.actor else "",
        )
        for e in events
    ]


def text_of(chunks) -> str:
    """A writer's pieces (UTF-8 bytes) as one text."""
    return b"".join(chunks).decode("utf-8")


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_canonical_columns_and_every_event_in_case_order(log):
    rows = read_csv(text_of(csv_chunks(event_batches(EventLogQuery(), batch_cases=2))))
    assert tuple(rows[0].keys()) == COLUMNS
    got = [(r["case_id"], r["activity"], r["timestamp"], r["resource"]) for r in rows]
    assert got == expected_rows()
    assert {r["channel"] for r in rows} == {"portal"}
    assert all(r["timestamp"].endswith("+00:00") for r in rows)


def test_csv_round_trips_through_polars_with_utc_timestamps(log):
    import polars as pl

    text = text_of(csv_chunks(event_batches(EventLogQuery())))
    frame = pl.read_csv(io.StringIO(text), try_parse_dates=True)
    assert frame.height == CaseEvent.objects.count()
    assert str(frame.schema["timestamp"]) == "Datetime(time_unit='us', time_zone='UTC')"
    first = CaseEvent.objects.order_by("case_id", "timestamp", "id").first()
    assert frame["timestamp"][0] == first.timestamp


def test_stage_kind_gives_one_row_per_stage_visit_with_its_start_and_end(log, world):
    rows = read_csv(text_of(csv_chunks(event_batches(EventLogQuery(kind="stage")))))
    assert tuple(rows[0]) == STAGE_EXPORT_COLUMNS
    assert {r["kind"] for r in rows} == {"stage_entered"}
    assert [(r["case_id"], r["activity"]) for r in rows] == [
        (n, a) for n, a, _, _ in expected_rows("stage")
    ]
    assert len(rows) == 5  # three start stages + two moves to analysis
    first, second = rows[0], rows[1]
    # Intake lasted from the case's creation to the move; the move's visit is under way.
    assert first["start_timestamp"] == T0.isoformat(timespec="microseconds")
    assert first["timestamp"] == (T0 + timedelta(minutes=30)).isoformat(timespec="microseconds")
    assert first["lifecycle"] == "complete"
    assert second["lifecycle"] == "start"
    assert second["timestamp"] == second["start_timestamp"]
    assert {r["team"] for r in rows} == {world.front.code}


def test_stage_log_names_the_team_and_resource_holding_each_visit(world):
    """Each visit names the team and agent holding the case when it ended, not the case's
    current team: Intake was the front team's, Delivery the back team's, and the visit under
    way belongs to whoever holds the case now."""
    case = CaseFactory(customer=CustomerFactory(), actor=None, at=T0)
    steps = [("delivery", world.front_agent, 1), ("analysis", world.back_agent, 5)]
    for code, actor, hours in steps:
        case = case_transition(
            case=case,
            to_stage=stage_of(world.version, code),
            actor=actor,
            at=T0 + timedelta(hours=hours),
        )
    case = case_assign(
        case=case, assignee=world.back_agent, actor=world.manager, at=T0 + timedelta(hours=6)
    )
    assert case.team == world.back
    rows = read_csv(text_of(csv_chunks(event_batches(EventLogQuery(kind="stage")))))
    visits = [(r["activity"], r["team"], r["lifecycle"]) for r in rows]
    assert visits == [
        ("Intake", world.front.code, "complete"),
        ("Delivery", world.back.code, "complete"),
        ("Needs analysis", world.back.code, "start"),
    ]
    assert rows[1]["start_timestamp"] == (T0 + timedelta(hours=1)).isoformat(
        timespec="microseconds"
    )
    assert rows[1]["timestamp"] == (T0 + timedelta(hours=5)).isoformat(timespec="microseconds")
    assert rows[2]["resource"] == world.back_agent.username
    everything = read_csv(text_of(csv_chunks(event_batches(EventLogQuery()))))
    assert [r["team"] for r in everything if r["kind"] == "stage_entered"] == [
        world.front.code,
        world.back.code,  # the escalation to delivery re-routed the case to the back team
        world.front.code,  # and the move back to analysis to the front team
    ]
    assert everything[-1]["kind"] == "assigned" and everything[-1]["team"] == world.back.code


def test_since_until_select_a_half_open_window(log):
    query = EventLogQuery(since=T0 + timedelta(minutes=30), until=T0 + timedelta(hours=2))
    rows = read_csv(text_of(csv_chunks(event_batches(query))))
    stamps = [datetime.fromisoformat(r["timestamp"]) for r in rows]
    assert stamps and all(query.since <= s < query.until for s in stamps)
    expected = CaseEvent.objects.filter(
        timestamp__gte=query.since, timestamp__lt=query.until
    ).count()
    assert len(rows) == expected


def test_query_refuses_naive_or_inverted_window():
    with pytest.raises(ValueError, match="timezone-aware"):
        EventLogQuery(since=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="before"):
        EventLogQuery(since=T0, until=T0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Intake", "Intake"),
        ("a=b", "a=b"),
    ],
)
def test_neutralise_formula(value, expected):
    assert neutralise_formula(value) == expected


def test_csv_cells_starting_with_formula_characters_are_neutralised(log, world):
    CaseEvent.objects.create(
        case=log[0],
        kind=EventKind.FIELD_CHANGED,
        activity='=cmd|" /C calc"!A0',
        timestamp=T0 + timedelta(days=1),
        actor=world.manager,
    )
    rows = read_csv(text_of(csv_chunks(event_batches(EventLogQuery()))))
    activities = {r["activity"] for r in rows}
    assert '\'=cmd|" /C calc"!A0' in activities
    assert not any(a.startswith(("=", "+", "-", "@")) for a in activities)
    assert HOSTILE in activities


def test_parquet_round_trips_with_typed_columns(log, tmp_path):
    path = tmp_path / "log.parquet"
    written = write_parquet(event_batches(EventLogQuery(), batch_cases=2), path)
    table = pq.read_table(path)
    assert written == table.num_rows == CaseEvent.objects.count()
    assert tuple(table.column_names) == COLUMNS
    assert str(table.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    assert pq.ParquetFile(path).num_row_groups >= 2
    got = [
        (
            r["case_id"],
            r["activity"],
            r["timestamp"].isoformat(timespec="microseconds"),
            r["resource"] or "",
        )
        for r in table.to_pylist()
    ]
    assert got == expected_rows()


def test_parquet_of_empty_log_has_schema_and_no_rows(tmp_path):
    path = tmp_path / "empty.parquet"
    assert write_parquet(event_batches(EventLogQuery()), path) == 0
    table = pq.read_table(path)
    assert table.num_rows == 0
    assert tuple(table.column_names) == COLUMNS


def test_xes_re_reads_in_pm4py_with_same_cases_events_and_activities(log, tmp_path):
    pm4py = pytest.importorskip("pm4py")
    path = tmp_path / "log.xes"
    path.write_text(text_of(xes_chunks(event_batches(EventLogQuery(), batch_cases=2))), "utf-8")
    frame = pm4py.read_xes(str(path))
    expected = expected_rows()
    assert len(frame) == len(expected)
    got = sorted(
        zip(frame["case:concept:name"], frame["concept:name"], strict=True),
    )
    assert got == sorted((number, activity) for number, activity, _, _ in expected)
    assert set(frame["concept:name"]) >= {HOSTILE, "Intake", "Needs analysis"}
    assert frame["case:concept:name"].nunique() == 3
    stamps = sorted(ts.isoformat(timespec="microseconds") for ts in frame["time:timestamp"])
    assert stamps == sorted(ts for _, _, ts, _ in expected)
    resources = set(frame["org:resource"].dropna())
    assert resources == {r for _, _, _, r in expected if r}
    assert set(frame["lifecycle:transition"]) == {"complete"}
    assert set(frame["case:channel"]) == {"portal"}


def test_xes_declares_extensions_globals_classifiers_and_escapes_values(log):
    from lxml import etree

    text = text_of(xes_chunks(event_batches(EventLogQuery())))
    root = etree.fromstring(text.encode())
    ns = {"x": "http://www.xes-standard.org/"}
    assert root.get("xes.version") == "1849-2016"
    assert {e.get("prefix") for e in root.findall("x:extension", ns)} == {
        "concept",
        "time",
        "org",
        "lifecycle",
    }
    assert {g.get("scope") for g in root.findall("x:global", ns)} == {"trace", "event"}
    assert {c.get("keys") for c in root.findall("x:classifier", ns)} == {
        "concept:name",
        "concept:name lifecycle:transition",
    }
    traces = root.findall("x:trace", ns)
    assert [t.find("x:string[@key='concept:name']", ns).get("value") for t in traces] == [
        c.number for c in sorted(log, key=lambda c: c.pk)
    ]
    names = [
        s.get("value") for s in root.iterfind("x:trace/x:event/x:string[@key='concept:name']", ns)
    ]
    assert HOSTILE in names
    stamp = root.find("x:trace/x:event/x:date[@key='time:timestamp']", ns).get("value")
    assert datetime.fromisoformat(stamp).utcoffset() == timedelta(0)


def test_xes_keeps_newlines_and_drops_characters_xml_cannot_carry(log, world):
    from lxml import etree

    CaseEvent.objects.create(
        case=log[0],
        kind=EventKind.FIELD_CHANGED,
        activity="line one\nline two\x0b\x1f end",
        timestamp=T0 + timedelta(days=1),
        actor=None,
    )
    root = etree.fromstring(text_of(xes_chunks(event_batches(EventLogQuery()))).encode())
    values = {e.get("value") for e in root.iter("{http://www.xes-standard.org/}string")}
    assert "line one\nline two\ufffd\ufffd end" in values


def test_empty_log_is_a_valid_xes_document_without_traces():
    from lxml import etree

    root = etree.fromstring(text_of(xes_chunks(event_batches(EventLogQuery()))).encode())
    assert root.findall("{http://www.xes-standard.org/}trace") == []


def test_stage_log_parquet_and_xes_carry_start_and_end(log, tmp_path):
    path = tmp_path / "stages.parquet"
    write_parquet(event_batches(EventLogQuery(kind="stage")), path)
    table = pq.read_table(path)
    assert tuple(table.column_names) == STAGE_EXPORT_COLUMNS
    assert str(table.schema.field("start_timestamp").type) == "timestamp[us, tz=UTC]"
    from lxml import etree

    text = text_of(xes_chunks(event_batches(EventLogQuery(kind="stage"))))
    ns = "{http://www.xes-standard.org/}"
    transitions = [
        s.get("value")
        for s in etree.fromstring(text.encode()).iterfind(f"{ns}trace/{ns}event/{ns}string")
        if s.get("key") == "lifecycle:transition"
    ]
    # Every visit starts; the two Intake visits that ended also complete.
    assert transitions.count("start") == 5
    assert transitions.count("complete") == 2


def test_batches_are_lazy_and_read_a_range_of_cases_each(log):
    total = CaseEvent.objects.count()

    def event_scans(captured):
        return [q["sql"] for q in captured if 'FROM "cases_caseevent"' in q["sql"]]

    with CaptureQueriesContext(connection) as queries:
        batches = event_batches(EventLogQuery(), batch_cases=2)
        first = next(iter(batches))
        assert len(event_scans(queries.captured_queries)) == 1, "nothing read ahead"
    with CaptureQueriesContext(connection) as queries:
        batches = event_batches(EventLogQuery(), batch_cases=2)
        frames = list(batches)
    assert sum(f.height for f in frames) == total
    assert frames[0].height == first.height
    assert batches.cases_done == 3
    scans = event_scans(queries.captured_queries)
    assert len(scans) == 2  # cases 1-2, then case 3
    for sql in scans:
        assert '"cases_caseevent"."case_id" >=' in sql
        assert "OFFSET" not in sql
    assert len(queries) == 3 + 2 * len(scans)  # bounds, users, stages; per batch cases + events


def test_a_case_missing_from_its_range_drops_its_rows_and_keeps_the_order():
    # A case created between the range's two statements has events but no case row yet.
    from serviceloop.cases.export.rows import _with_cases

    rows = pl.DataFrame({"case": [3, 3, 9, 5, 12, 13], "activity": [*"abcdef"]})
    cases = pl.DataFrame({"case": [5, 3, 12], "case_id": ["C5", "C3", "C12"]})
    joined = _with_cases(rows, cases)
    assert joined.rows() == [(3, "a", "C3"), (3, "b", "C3"), (5, "d", "C5"), (12, "e", "C12")]
    assert _with_cases(rows.head(2), cases).rows() == [(3, "a", "C3"), (3, "b", "C3")]
