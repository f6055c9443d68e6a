"""The event log is append-only in the ORM and in the database: every way of changing or removing a
stored event is refused, on SQLite and PostgreSQL alike, and the refused write changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, models, transaction
from django.db.models.deletion import Collector

from serviceloop.cases.models import AppendOnlyError, Case, CaseEvent
from serviceloop.cases.services import case_create
from serviceloop.core import append_only
from tests.factories import CustomerFactory

TABLE = CaseEvent._meta.db_table


def _open_case() -> Case:
    customer = CustomerFactory()
    return case_create(
        actor=customer.user, customer=customer, title="t", description="d", channel="portal"
    )


def _snapshot() -> list[tuple[object, ...]]:
    return list(CaseEvent.objects.order_by("id").values_list("id", "activity", "attributes"))


def _raw(sql: str) -> Callable[[CaseEvent], None]:
    def run(event: CaseEvent) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql.format(table=TABLE), [event.pk])

    return run


def _plain(event: CaseEvent) -> models.QuerySet[CaseEvent]:
    """A queryset that skips the manager's refusals: only the database stands in the way."""
    return models.QuerySet(CaseEvent).filter(pk=event.pk)


def _collector_delete(event: CaseEvent) -> None:
    collector = Collector(using="default")
    collector.collect([event])
    collector.delete()


ORM_WAYS: dict[str, Callable[[CaseEvent], object]] = {
    "queryset_update": lambda e: CaseEvent.objects.filter(pk=e.pk).update(activity="x"),
    "queryset_delete": lambda e: CaseEvent.objects.filter(pk=e.pk).delete(),
    "manager_bulk_update": lambda e: CaseEvent.objects.bulk_update([e], ["activity"]),
    "update_or_create": lambda e: CaseEvent.objects.update_or_create(pk=e.pk, defaults={}),
    "instance_save": lambda e: e.save(),
    "instance_delete": lambda e: e.delete(),
}

DATABASE_WAYS: dict[str, Callable[[CaseEvent], object]] = {
    "raw_update": _raw("UPDATE {table} SET activity = 'tampered' WHERE id = %s"),
    "raw_delete": _raw("DELETE FROM {table} WHERE id = %s"),
    "raw_update_all": _raw("UPDATE {table} SET actor_id = NULL WHERE id <> %s OR 1 = 1"),
    "plain_queryset_update": lambda e: _plain(e).update(activity="tampered"),
    "plain_queryset_delete": lambda e: _plain(e)._raw_delete("default"),
    "plain_bulk_update": lambda e: models.QuerySet(CaseEvent).bulk_update([e], ["activity"]),
    "collector_delete": _collector_delete,
}


@pytest.mark.django_db
@pytest.mark.parametrize("way", ORM_WAYS.values(), ids=ORM_WAYS.keys())
def test_the_orm_refuses_to_change_an_event(world, way):
    _open_case()
    event = CaseEvent.objects.order_by("id").first()
    before = _snapshot()
    event.activity = "tampered"
    with pytest.raises(AppendOnlyError, match="append-only"):
        way(event)
    assert _snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("way", DATABASE_WAYS.values(), ids=DATABASE_WAYS.keys())
def test_the_database_refuses_to_change_an_event(world, way):
    _open_case()
    event = CaseEvent.objects.order_by("id").first()
    before = _snapshot()
    event.activity = "tampered"
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        way(event)
    assert _snapshot() == before


@pytest.mark.django_db
def test_events_are_still_appended_and_read(world):
    case = _open_case()
    assert CaseEvent.objects.filter(case=case).count() >= 2


@pytest.mark.django_db
def test_lifted_lets_one_transaction_erase_and_then_guards_again(world):
    _open_case()
    first = CaseEvent.objects.order_by("id").first()
    with transaction.atomic(), append_only.lifted(TABLE):
        _raw("DELETE FROM {table} WHERE id = %s")(first)
    assert not CaseEvent.objects.filter(pk=first.pk).exists()
    second = CaseEvent.objects.order_by("id").first()
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw("DELETE FROM {table} WHERE id = %s")(second)


@pytest.mark.django_db
def test_an_error_inside_lifted_keeps_the_triggers(world):
    _open_case()
    event = CaseEvent.objects.order_by("id").first()
    with transaction.atomic():
        with pytest.raises(RuntimeError), append_only.lifted(TABLE):
            raise RuntimeError("boom")
        with pytest.raises(IntegrityError), transaction.atomic():
            _raw("DELETE FROM {table} WHERE id = %s")(event)
    assert CaseEvent.objects.filter(pk=event.pk).exists()


def test_lifted_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="transaction"), append_only.lifted(TABLE):
        pass


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_database_and_leaves_the_log_guarded(world):
    """``manage.py flush`` (and the test runner between transactional tests) may wipe everything."""
    _open_case()
    call_command("flush", interactive=False, verbosity=0)
    assert not CaseEvent.objects.exists()
    version = world.version.__class__  # the process tables were emptied too
    assert not version.objects.exists()
    from serviceloop.cases.models import Category

    Category.objects.create(code="c", name="c")  # the database is usable again
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE]
            )
        else:
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                [TABLE],
            )
        names = {row[0] for row in cursor.fetchall()}
    assert names == {f"{TABLE}_no_update", f"{TABLE}_no_delete"}
