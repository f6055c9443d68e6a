"""SLA set-up through the admin: calendars validate their hours and zone, an added date changes
the due times at once, clocks are read-only."""

from __future__ import annotations

import pytest

from serviceloop.sla.calendars import clock_for
from serviceloop.sla.models import BusinessCalendar, SlaClock
from tests.factories import AdminFactory, CaseFactory
from tests.sla.conftest import at

pytestmark = pytest.mark.django_db

HOURS = {d: "09:00-17:00" for d in ("monday", "tuesday", "wednesday", "thursday", "friday")}


@pytest.fixture
def admin_client(client, world):
    client.force_login(AdminFactory())
    return client


def calendar_form(**values: str) -> dict[str, str]:
    return {
        "name": "Shanghai desk",
        "team": "",
        "time_zone": "Asia/Shanghai",
        "country": "CN",
        "subdivision": "",
        "saturday": "",
        "sunday": "",
        "makeup_hours": "",
        "dates-TOTAL_FORMS": "0",
        "dates-INITIAL_FORMS": "0",
        **HOURS,
        **values,
    }


def test_calendar_with_bad_hours_or_zone_is_refused_and_nothing_saved(admin_client):
    page = admin_client.post(
        "/admin/sla/businesscalendar/add/",
        calendar_form(monday="9-17", time_zone="Asia/Nowhere"),
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "is not a time like 09:00" in text and "Unknown time zone" in text
    assert not BusinessCalendar.objects.exists()


def test_calendar_saved_with_a_closed_date_moves_due_times(admin_client):
    page = admin_client.post(
        "/admin/sla/businesscalendar/add/",
        calendar_form(
            time_zone="UTC",
            country="",
            **{
                "dates-TOTAL_FORMS": "1",
                "dates-0-date": "2026-05-05",
                "dates-0-kind": "closed",
                "dates-0-name": "Company day",
            },
        ),
    )
    assert page.status_code == 302, page.content.decode()[:2000]
    calendar = BusinessCalendar.objects.get()
    # Monday 16:00 + 2 working hours skips the closed Tuesday.
    assert clock_for(calendar).add(at(0, 16), 2 * 3600) == at(2, 10)


def test_policy_pages_render_and_clocks_are_read_only(admin_client, sla):
    case = CaseFactory(at=at(0, 9))
    clock = SlaClock.objects.filter(case=case).first()
    assert admin_client.get("/admin/sla/slapolicy/").status_code == 200
    assert admin_client.get(f"/admin/sla/slapolicy/{sla.standard.pk}/change/").status_code == 200
    assert admin_client.get("/admin/sla/slaclock/").status_code == 200
    assert admin_client.get("/admin/sla/slaclock/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/sla/slaclock/{clock.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )


def test_admin_action_applies_a_policy_to_its_open_cases(admin_client, sla):
    from serviceloop.sla.models import SlaTarget

    case = CaseFactory(at=at(0, 9))
    SlaTarget.objects.filter(policy=sla.standard, metric="first_response").update(minutes=60)
    response = admin_client.post(
        "/admin/sla/slapolicy/",
        {"action": "recompute_open_cases", "_selected_action": [sla.standard.pk]},
        follow=True,
    )
    assert "Clocks of 1 open case(s) recomputed." in response.content.decode()
    assert SlaClock.objects.get(case=case, metric="first_response").target_seconds == 3600


def test_quality_standards_list_shows_the_last_30_days(admin_client, world):
    from serviceloop.sla.models import QualityStandard

    QualityStandard.objects.create(
        process=world.version.process, indicator="reopen_rate", target=0.1
    )
    page = admin_client.get("/admin/sla/qualitystandard/")
    assert page.status_code == 200
    assert "no cases" in page.content.decode()


def test_delivery_log_pages_render_read_only(admin_client, world):
    from serviceloop.sla.models import OutboxMessage, WebhookDelivery, WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(name="Ops", url="https://example.com/h", secret="k")
    message = OutboxMessage.objects.create(
        channel="webhook",
        endpoint=endpoint,
        body="{}",
        next_attempt_at=at(0, 9),
        created_at=at(0, 9),
    )
    WebhookDelivery.objects.create(message=message, attempted_at=at(0, 9), error="refused")
    assert admin_client.get("/admin/sla/outboxmessage/").status_code == 200
    detail = admin_client.get(f"/admin/sla/outboxmessage/{message.pk}/change/")
    assert detail.status_code == 200 and "refused" in detail.content.decode()
    assert admin_client.get("/admin/sla/outboxmessage/add/").status_code == 403
    assert admin_client.get("/admin/sla/webhookendpoint/add/").status_code == 200
