"""Stored calendars through the services: China's holidays and 调休 make-up Sundays from the
``holidays`` library, admin-added dates, and a team's own calendar after a re-assignment."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from serviceloop.cases.services import case_assign
from serviceloop.sla.calendars import clock_for
from serviceloop.sla.models import BusinessCalendar, CalendarDate, SlaClock, SlaPolicy, SlaTarget
from serviceloop.sla.selectors import setup_forget
from tests.factories import AgentFactory, CaseFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_spring_festival_2025_closes_and_the_make_up_sunday_works(world):
    calendar = BusinessCalendar.objects.create(
        name="Shanghai", time_zone="Asia/Shanghai", country="CN"
    )
    clock = clock_for(calendar)
    # Friday 24 Jan 2025, 17:00: one hour left; Saturday off; Sunday 26 Jan is a make-up day.
    assert clock.add(shanghai(2025, 1, 24, 17), 2 * 3600) == shanghai(2025, 1, 26, 10)
    # Monday 27 Jan is a working day, then 28 Jan - 4 Feb is the holiday: back on 5 Feb.
    assert clock.add(shanghai(2025, 1, 27, 17), 2 * 3600) == shanghai(2025, 2, 5, 10)


def test_an_admin_date_overrides_the_library(world):
    calendar = BusinessCalendar.objects.create(
        name="Shanghai", time_zone="Asia/Shanghai", country="CN"
    )
    CalendarDate.objects.create(calendar=calendar, date=shanghai(2025, 1, 26).date(), kind="closed")
    CalendarDate.objects.create(
        calendar=calendar, date=shanghai(2025, 1, 28).date(), kind="working"
    )
    calendar.refresh_from_db()
    clock = clock_for(calendar)
    assert clock.add(shanghai(2025, 1, 24, 17), 2 * 3600) == shanghai(2025, 1, 27, 10)
    assert clock.add(shanghai(2025, 1, 27, 17), 2 * 3600) == shanghai(2025, 1, 28, 10)


def test_a_team_calendar_applies_from_the_reassignment_on(world):
    utc = "UTC"
    BusinessCalendar.objects.create(name="Office", time_zone=utc, country="")  # Mon-Fri 09-18
    BusinessCalendar.objects.create(
        name="Back office, seven days",
        time_zone=utc,
        country="",
        team=world.back,
        saturday="09:00-18:00",
        sunday="09:00-18:00",
    )
    policy = SlaPolicy.objects.create(name="All")
    SlaTarget.objects.create(policy=policy, metric="resolution", minutes=10 * 60)
    setup_forget()
    friday_9 = datetime(2026, 5, 8, 9, tzinfo=ZoneInfo(utc))
    case = CaseFactory(at=friday_9)
    clock = SlaClock.objects.get(case=case)
    assert clock.due_at == datetime(2026, 5, 11, 10, tzinfo=ZoneInfo(utc))  # Monday 10:00
    agent = AgentFactory(team=world.back)
    case_assign(case=case, assignee=agent, actor=world.manager, at=friday_9.replace(hour=17))
    clock.refresh_from_db()
    # 8 h used by 17:00; one more until 18:00, and the back office works on Saturday.
    assert clock.calendar.team == world.back
    assert clock.due_at == datetime(2026, 5, 9, 10, tzinfo=ZoneInfo(utc))
