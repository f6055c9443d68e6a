"""Written-out SQL reads and writes the same rows as the ORM (run on SQLite and PostgreSQL)."""

from datetime import UTC, datetime

import pytest

from serviceloop.cases.choices import CaseStatus, Channel, EventKind, Priority
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.core.rows import columns, fetch, insert, load, width
from serviceloop.processes.models import Stage
from tests.factories import CaseFactory, CustomerFactory, default_process_version

pytestmark = pytest.mark.django_db

AT = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)


def _fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_load_gives_what_the_orm_gives_for_json_times_booleans_and_nulls():
    case = CaseFactory(attributes={"vip": True, "seats": 3, "tags": ["a", "b"]})
    # Stage: booleans, JSON lists, a NULL foreign key on the LEFT JOIN side; Case: JSON, times.
    rows = fetch(
        f"SELECT {columns(Case, 'c')}, {columns(Stage, 's')} FROM cases_case c "  # noqa: S608
        "JOIN processes_stage s ON s.id = c.stage_id WHERE c.id = %s",
        [case.pk],
    )
    loaded_case = load(Case, rows[0])
    loaded_stage = load(Stage, rows[0], width(Case))
    assert _fields(loaded_case) == _fields(Case.objects.get(pk=case.pk))
    assert _fields(loaded_stage) == _fields(Stage.objects.get(pk=case.stage_id))
    assert loaded_stage.is_start is True
    assert loaded_case.attributes == {"vip": True, "seats": 3, "tags": ["a", "b"]}
    assert loaded_case.created_at.tzinfo is not None
    assert not loaded_case._state.adding


def test_load_of_the_empty_side_of_a_left_join_is_none():
    row = fetch(
        f"SELECT {columns(Stage, 's')} FROM (SELECT 1 AS x) one "  # noqa: S608
        "LEFT JOIN processes_stage s ON s.id = -1"
    )
    assert load(Stage, row[0]) is None


def test_insert_one_reads_back_key_and_generated_number_and_stores_what_the_orm_reads():
    version = default_process_version()
    start = version.stages.get(is_start=True)
    case = Case(
        title="Broken pump",
        description="It leaks.",
        customer=CustomerFactory(),
        channel=Channel.API,
        priority=Priority.HIGH,
        process_version=version,
        stage=start,
        status=CaseStatus.OPEN,
        attributes={"site": "北京", "n": 1.5},
        checklist_done=[],
        stage_entered_at=AT,
        created_at=AT,
        updated_at=AT,
    )
    insert([case])
    assert case.pk is not None
    assert case.number == f"SL-{case.pk:06d}"
    stored = Case.objects.get(pk=case.pk)
    assert _fields(stored) == _fields(case)
    assert stored.created_at == AT
    assert stored.attributes == {"site": "北京", "n": 1.5}


def test_insert_many_stores_every_row_in_order():
    case = CaseFactory()
    before = CaseEvent.objects.filter(case=case).count()
    events = [
        CaseEvent(case=case, kind=EventKind.REPLIED, activity=f"Reply {i}", timestamp=AT)
        for i in range(3)
    ]
    insert(events)
    stored = list(CaseEvent.objects.filter(case=case).order_by("id")[before:])
    assert [e.activity for e in stored] == ["Reply 0", "Reply 1", "Reply 2"]
    assert all(e.timestamp == AT and e.attributes == {} for e in stored)
    assert all(e.lifecycle == "complete" for e in stored)


def test_locking_a_case_outside_a_transaction_is_refused(transactional_db):
    from django.db.transaction import TransactionManagementError

    from serviceloop.cases.services._common import lock_case

    with pytest.raises(TransactionManagementError):
        lock_case(CaseFactory())
