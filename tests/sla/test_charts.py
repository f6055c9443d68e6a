"""Control charts over stored clocks: a p chart of the daily breach rate and an XmR chart of the
daily resolution time, limits from a baseline, signals when the service gets worse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceloop.cases.models import Case
from serviceloop.sla.charts import control_charts
from serviceloop.sla.live import live_scope
from serviceloop.sla.models import SlaClock
from tests.cases.api_client import Api
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db
DAYS = 25


@pytest.fixture
def history(world, sla):
    """Each of 25 days: 10 resolution clocks finished; 1 breached a day for 20 days, then 8."""
    template = CaseFactory()
    start = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(
        days=DAYS
    )
    cases = Case.objects.bulk_create(
        [
            Case(
                title=f"Past {i}", description="x", customer=template.customer,
                channel=template.channel, process_version=template.process_version,
                stage=template.stage, team=template.team, stage_entered_at=start,
                created_at=start, updated_at=start,
            )
            for i in range(DAYS * 10)
        ]
    )  # fmt: skip
    clocks = []
    for i, case in enumerate(cases):
        day, k = divmod(i, 10)
        when = start + timedelta(days=day)
        breached = k < (1 if day < 20 else 8)
        clocks.append(
            SlaClock(
                case=case, metric="resolution", policy=sla.standard, calendar=sla.calendar,
                target_seconds=3600, warn_seconds=2700, since=when, started_at=when,
                running=False, used_seconds=(40 + k + day % 3 + (60 if day >= 20 else 0)) * 60,
                stopped_at=when, breached_at=when if breached else None,
            )
        )  # fmt: skip
    SlaClock.objects.bulk_create(clocks)
    return world


def test_breach_rate_and_resolution_time_signal_the_worse_days(history):
    now = timezone.now()
    charts = control_charts(
        live_scope(history.manager), since=now - timedelta(days=DAYS + 1), until=now, baseline=20
    )
    assert len(charts.breach_rate) == DAYS
    first = charts.breach_rate[0]
    assert first.center == pytest.approx(0.1)
    assert first.ucl == pytest.approx(0.1 + 3 * (0.1 * 0.9 / 10) ** 0.5)
    assert [bool(p.rules) for p in charts.breach_rate] == [False] * 20 + [True] * 5
    assert all(1 in p.rules for p in charts.breach_rate[20:])
    assert len(charts.resolution_minutes) == DAYS and len(charts.moving_ranges) == DAYS - 1
    assert charts.resolution_minutes[0].center == pytest.approx(44.5 + 19 / 20)
    assert not any(p.rules for p in charts.resolution_minutes[:20])
    assert all(p.rules for p in charts.resolution_minutes[20:])


def test_api_serves_the_charts_to_staff_in_scope(history):
    response = Api(history.manager).get("/api/sla/control-charts", {"days": 30, "baseline": 20})
    assert response.status_code == 200
    body = response.json()
    assert len(body["breach_rate"]) == DAYS
    assert body["breach_rate"][-1]["rules"] and body["breach_rate"][0]["rules"] == []
    customer = Case.objects.first().customer.user
    assert Api(customer).get("/api/sla/control-charts").status_code == 403


def test_live_page_carries_the_chart_options_with_signals_in_red(client, history):
    client.force_login(history.manager)
    response = client.get(reverse("sla:live"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="sla-breach-chart"' in html and 'id="sla-resolution-chart"' in html
    assert html.count("#c0392b") >= 5  # the five worse days, on each chart
