"""The export reads the database its own way (server-sorted ranges, only the attributes it needs,
read ahead through ADBC on PostgreSQL) and writes in columns: its rows, CSV, Parquet and XES must
equal what the straightforward reading gives, which is kept here as the reference: every range
through :func:`serviceloop.cases.eventlog.read_events`, XES written event by event in Python.

The ``transaction=True`` cases commit their data, so on PostgreSQL the read-ahead path (its own
connection) runs; the others run inside the test's transaction (read in turn)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import polars as pl
import pyarrow.parquet as pq
import pytest
from django.db.models import Max, Min

from serviceloop.accounts.models import User
from serviceloop.cases.choices import EventKind
from serviceloop.cases.eventlog import (
    ENTRY_KINDS,
    EVENT_COLUMNS,
    HOLDER_KINDS,
    STAGE_COLUMNS,
    fetch_frame,
    read_events,
    read_stages,
    stage_visits,
    with_holders,
)
from serviceloop.cases.export import (
    EventLogQuery,
    csv_chunks,
    event_batches,
    write_parquet,
    xes_chunks,
)
from serviceloop.cases.export.csv_writer import _cells, format_timestamp
from serviceloop.cases.export.rows import CASE_ATTRIBUTES
from serviceloop.cases.export.xes_writer import FOOTER, HEADER, xes_attr
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.cases.services import case_assign, case_reopen, case_transition
from tests.factories import (
    AgentFactory,
    CaseFactory,
    CustomerFactory,
    build_process_version,
    stage_of,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOSTILE = '=HYPERLINK("http://x") <b>&amp;\t"q"\n 中文'
FORMULA_NAME = "=cmd|' /C calc'!A0 <&>"

# -- the reference: the export as it was read and written before ---------------------------------
_CASE_SCHEMA = {
    "case": pl.Int64,
    "case_id": pl.String,
    "channel": pl.String,
    "priority": pl.String,
    "category": pl.String,
    "version": pl.Int64,
}


def reference_frames(query: EventLogQuery, batch_cases: int) -> Iterator[pl.DataFrame]:
    bounds = Case.objects.aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        return
    users = fetch_frame(
        User.objects.order_by().values_list("id", "username"),
        {"actor": pl.Int64, "username": pl.String},
    )
    stages = read_stages()
    for low in range(bounds["low"], bounds["high"] + 1, batch_cases):
        cases = fetch_frame(
            Case.objects.filter(id__gte=low, id__lt=low + batch_cases, **query.case_lookups())
            .order_by()
            .values_list(
                "id", "number", "channel", "priority", "category__code", "process_version_id"
            ),
            _CASE_SCHEMA,
        )
        if cases.height:
            frame = _reference_range(query, (low, low + batch_cases), cases, users, stages)
            if frame.height:
                yield frame


def _reference_range(query, case_range, cases, users, stages):
    versions = cases.select("case", "version")
    if query.kind == "stage":
        events = read_events(
            kinds={*ENTRY_KINDS, *HOLDER_KINDS}, case_range=case_range, holders=True
        )
        visits = stage_visits(with_holders(events, stages, versions))
        rows = visits.select(
            "case",
            "activity",
            pl.col("start").alias("start_timestamp"),
            pl.coalesce("end", "start").alias("timestamp"),
            pl.col("assignee").alias("resource"),
            "lifecycle",
            "kind",
            "team",
        )
        rows = _window(rows, query, "start_timestamp")
        columns = STAGE_COLUMNS
    else:
        events = read_events(
            case_range=case_range,
            since=query.since,
            until=query.until,
            window_exempt=HOLDER_KINDS,
            holders=True,
        )
        rows = _window(with_holders(events, stages, versions), query, "timestamp")
        rows = rows.join(users, on="actor", how="left", maintain_order="left").select(
            "case",
            "activity",
            "timestamp",
            pl.col("username").alias("resource"),
            "lifecycle",
            "kind",
            "team",
        )
        columns = EVENT_COLUMNS
    return rows.join(cases, on="case", how="inner", maintain_order="left").select(columns)


def _window(frame, query, column):
    if query.since is not None:
        frame = frame.filter(pl.col(column) >= query.since)
    if query.until is not None:
        frame = frame.filter(pl.col(column) < query.until)
    return frame


def reference_csv(frames: list[pl.DataFrame], columns) -> str:
    parts = [
        _cells(f).write_csv(include_header=i == 0, line_terminator="\r\n", quote_style="necessary")
        for i, f in enumerate(frames)
    ]
    return "".join(parts) if parts else ",".join(columns) + "\r\n"


def reference_xes(frames: list[pl.DataFrame]) -> str:
    def string(key, value, indent):
        return f'{indent}<string key="{key}" value="{xes_attr(value)}"/>\n'

    parts, current = [HEADER], None
    for frame in frames:
        if "start_timestamp" in frame.columns:
            frame = _lifecycle_events(frame)
        for row in frame.select(EVENT_COLUMNS).iter_rows():
            if row[0] != current:
                if current is not None:
                    parts.append("  </trace>\n")
                parts.append("  <trace>\n" + string("concept:name", row[0], "    "))
                for name, value in zip(CASE_ATTRIBUTES, row[6:], strict=True):
                    if value is not None:
                        parts.append(string(name, str(value), "    "))
                current = row[0]
            parts.append(
                "    <event>\n"
                + string("concept:name", row[1], "      ")
                + f'      <date key="time:timestamp" value="{format_timestamp(row[2])}"/>\n'
                + (string("org:resource", row[3], "      ") if row[3] is not None else "")
                + string("lifecycle:transition", row[4], "      ")
                + string("kind", row[5], "      ")
                + "    </event>\n"
            )
    if current is not None:
        parts.append("  </trace>\n")
    return "".join(parts) + FOOTER


def _lifecycle_events(visits):
    numbered = visits.with_row_index("__visit")
    starts = numbered.with_columns(
        pl.col("start_timestamp").alias("timestamp"), pl.lit("start").alias("lifecycle")
    )
    ends = numbered.filter(pl.col("lifecycle") == "complete")
    return (
        pl.concat(
            [
                starts.select("__visit", pl.lit(0).alias("__phase"), *EVENT_COLUMNS),
                ends.select("__visit", pl.lit(1).alias("__phase"), *EVENT_COLUMNS),
            ]
        )
        .sort("__visit", "__phase")
        .select(EVENT_COLUMNS)
    )


# -- a small history with everything the view replays -------------------------------------------
def build_history(world) -> None:
    """Escalations that re-route the team, assignments, a close and a reopen, events of a second
    process, people with Chinese and hostile names, customers acting, hostile activity text."""
    User.objects.filter(pk=world.front_agent.pk).update(first_name="静", last_name="陈")
    User.objects.filter(pk=world.back_agent.pk).update(first_name=FORMULA_NAME, last_name="Smith")
    delivery, closed = stage_of(world.version, "delivery"), stage_of(world.version, "closed")
    for index in range(7):
        at = T0 + timedelta(hours=index)
        customer = CustomerFactory()
        case = CaseFactory(customer=customer, actor=customer.user, at=at)
        if index % 3 == 0:
            case = case_transition(
                case=case, to_stage=delivery, actor=world.front_agent, at=at + timedelta(minutes=5)
            )
            case = case_assign(
                case=case,
                assignee=world.back_agent,
                actor=world.manager,
                at=at + timedelta(minutes=9),
            )
        if index % 3 == 0 and index > 0:
            case = case_transition(
                case=case, to_stage=closed, actor=world.back_agent, at=at + timedelta(minutes=30)
            )
            case = case_reopen(
                case=case, actor=world.manager, reason="again", at=at + timedelta(minutes=50)
            )
        if index == 4:
            CaseEvent.objects.create(
                case=case,
                kind=EventKind.FIELD_CHANGED,
                activity=HOSTILE,
                timestamp=at + timedelta(minutes=1),
                actor=world.back_agent,
            )
        if index == 3:
            add_unusual_events(case, at, world)
    other = build_process_version()
    intake = stage_of(other, "intake")
    assert intake.responsible_team is not None
    stranger = AgentFactory(team=intake.responsible_team, first_name="Ann", last_name="Lee")
    for index in range(3):
        case = CaseFactory(process_version=other, at=T0 + timedelta(days=1, hours=index))
        case_assign(case=case, assignee=stranger, actor=world.manager, at=T0 + timedelta(days=2))


def add_unusual_events(case, at, world) -> None:
    """Events appended out of time order (the export sorts what the table order leaves
    unsorted), two at one instant (the id decides), and stage events whose team is JSON null
    (no re-route), re-routed to nobody, or re-routed with no ``to``."""

    def event(minutes, kind=EventKind.NOTE_ADDED, activity="Note", **attributes):
        CaseEvent.objects.create(
            case=case,
            kind=kind,
            activity=activity,
            timestamp=at + timedelta(minutes=minutes),
            actor=world.front_agent,
            attributes=attributes,
        )

    event(20)
    event(20, activity="=Same instant")
    moved = {"to_stage": "delivery", "from_stage": "delivery"}
    event(55, kind=EventKind.STAGE_ENTERED, activity="Delivery", team=None, **moved)
    event(56, kind=EventKind.STAGE_ENTERED, activity="Delivery", team={"from": "x"}, **moved)
    event(57, kind=EventKind.NOTE_ADDED)
    event(
        58, EventKind.STAGE_ENTERED, "Delivery", team={"to": None}, assignee={"to": None}, **moved
    )
    event(59, kind=EventKind.ASSIGNED, activity="Assigned", team=None, assignee=None)
    event(60, kind=EventKind.ASSIGNED, activity="Assigned", team=world.back.code)


QUERIES = [
    EventLogQuery(),
    EventLogQuery(kind="stage"),
    EventLogQuery(since=T0 + timedelta(minutes=20), until=T0 + timedelta(hours=4)),
    EventLogQuery(kind="stage", since=T0 + timedelta(minutes=3), until=T0 + timedelta(days=1)),
]


def _without_names(text: str) -> str:
    return re.sub(r' *<string key="resource_name" value="[^"]*"/>\n', "", text)


def _csv_without_names(data: bytes) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    drop = rows[0].index("resource_name")
    return [row[:drop] + row[drop + 1 :] for row in rows]


def _assert_same(query: EventLogQuery, batch_cases: int, tmp_path) -> None:
    expected = list(reference_frames(query, batch_cases))
    got = list(event_batches(query, batch_cases=batch_cases))
    assert [f.height for f in got] == [f.height for f in expected]
    assert sum(f.height for f in got) > 0
    for new, old in zip(got, expected, strict=True):
        assert new.drop("resource_name").equals(old), (new, old)
    columns = expected[0].columns
    old_csv = reference_csv(expected, columns).encode()
    new_csv = b"".join(csv_chunks(event_batches(query, batch_cases=batch_cases)))
    assert _csv_without_names(new_csv) == list(
        csv.reader(io.StringIO(old_csv.decode(), newline=""))
    )
    assert b"".join(csv_chunks([f.drop("resource_name") for f in got])) == old_csv
    new_xes = b"".join(xes_chunks(event_batches(query, batch_cases=batch_cases))).decode()
    assert _without_names(new_xes) == reference_xes(expected)
    path = tmp_path / "log.parquet"
    write_parquet(event_batches(query, batch_cases=batch_cases), path)
    table = pl.from_arrow(pq.read_table(path))
    assert table.drop("resource_name").equals(pl.concat(expected))


@pytest.mark.django_db
@pytest.mark.parametrize("query", QUERIES, ids=["all", "stage", "window", "stage-window"])
@pytest.mark.parametrize("batch_cases", [1, 4, 10_000])
def test_rows_and_files_equal_the_reference_inside_a_transaction(
    world, tmp_path, query, batch_cases
):
    build_history(world)
    _assert_same(query, batch_cases, tmp_path)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("batch_cases", [3, 10_000])
def test_rows_and_files_equal_the_reference_when_read_ahead(world, tmp_path, batch_cases):
    build_history(world)
    for query in [*QUERIES, EventLogQuery(process=world.version.process.code)]:
        _assert_same(query, batch_cases, tmp_path)


@pytest.mark.django_db
def test_names_are_written_as_people_write_them_and_neutralised(world, monkeypatch):
    build_history(world)
    monkeypatch.setattr("serviceloop.cases.export.rows._PEOPLE_CHUNK", 2)  # users read in chunks
    data = b"".join(csv_chunks(event_batches(EventLogQuery())))
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    names = {r["resource"]: r["resource_name"] for r in rows if r["resource"]}
    assert names[world.front_agent.username] == "陈静"
    # A name that would run as a spreadsheet formula is plain text.
    assert names[world.back_agent.username] == f"'{FORMULA_NAME} Smith"
    customer = Case.objects.order_by("id").first().customer.user
    assert names[customer.username] == (customer.get_full_name() or customer.username)
    stages = list(
        csv.DictReader(
            io.StringIO(
                b"".join(csv_chunks(event_batches(EventLogQuery(kind="stage")))).decode(),
                newline="",
            )
        )
    )
    held = {r["resource"]: r["resource_name"] for r in stages if r["resource"]}
    assert held[world.back_agent.username] == f"'{FORMULA_NAME} Smith"
    xes = b"".join(xes_chunks(event_batches(EventLogQuery()))).decode()
    assert '<string key="resource_name" value="陈静"/>' in xes
    assert '<string key="resource_name" value="=cmd|\' /C calc\'!A0 &lt;&amp;&gt; Smith"/>' in xes
