"""Database constraints keep a case row coherent even if code bypasses the services."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from serviceloop.cases.models import Case
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "change",
    [{"status": "closed"}, {"status": "archived"}, {"priority": "p0"}],
    ids=["closed-without-closed_at", "unknown-status", "unknown-priority"],
)
def test_database_refuses_incoherent_case_rows(world, change):
    case = CaseFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(**change)
    case.refresh_from_db()
    assert (case.status, case.priority, case.closed_at) == ("open", "normal", None)


def test_the_database_numbers_cases_from_their_id_without_cutting_long_ids(world):
    case = CaseFactory()
    assert case.number == f"SL-{case.pk:06d}"  # read back by the INSERT itself
    fields = {
        f.attname: getattr(case, f.attname)
        for f in Case._meta.concrete_fields
        if not f.primary_key and not f.generated
    }
    big = Case.objects.create(**fields, id=12_345_678)
    assert big.number == "SL-12345678"
    assert Case.objects.get(number="SL-12345678").pk == 12_345_678
