"""The workspace case page shows the case's SLA clocks; cases without clocks show no card."""

from __future__ import annotations

import pytest
from django.urls import reverse

from serviceloop.cases.services import case_set_status
from serviceloop.sla.sweep import sla_sweep
from tests.factories import CaseFactory
from tests.sla.conftest import at

pytestmark = pytest.mark.django_db


def page(client, user, case) -> str:
    client.force_login(user)
    response = client.get(reverse("workspace:case-detail", args=[case.number]))
    assert response.status_code == 200
    return response.content.decode()


def test_case_page_shows_clocks_with_breach_and_pause(client, world, sla):
    case = CaseFactory(at=at(0, 9))
    sla_sweep(now=at(0, 11))
    case_set_status(case=case, actor=world.manager, status="pending", at=at(0, 12))
    html = page(client, world.manager, case)
    assert 'id="sla"' in html and "First response" in html and "Resolution" in html
    assert "breached" in html and "paused" in html


def test_no_card_without_clocks(client, world, db):
    case = CaseFactory(at=at(0, 9))
    assert 'id="sla"' not in page(client, world.manager, case)


def test_notifications_page_lists_marks_read_and_shows_the_unread_count(client, world, sla):
    from serviceloop.sla.models import EscalationRule, Notification
    from serviceloop.sla.selectors import setup_forget

    EscalationRule.objects.create(policy=sla.standard, trigger="breach", action="notify")
    setup_forget()
    case = CaseFactory(at=at(0, 9))
    sla_sweep(now=at(0, 11))
    client.force_login(world.manager)
    html = client.get(reverse("sla:notifications")).content.decode()
    assert case.number in html and "Mark read" in html
    assert 'aria-label="unread">1<' in html  # the nav badge
    note = Notification.objects.get(recipient=world.manager)
    response = client.post(reverse("sla:notifications-read"), {"id": note.pk})
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.read_at is not None
    html = client.get(reverse("sla:notifications")).content.decode()
    assert 'aria-label="unread"' not in html


def test_customers_cannot_open_the_notifications_page(client, world, db):
    case = CaseFactory(at=at(0, 9))
    client.force_login(case.customer.user)
    assert client.get(reverse("sla:notifications")).status_code == 403
