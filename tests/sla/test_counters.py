"""The live page's counters (PostgreSQL triggers) equal a recount of the tables after a sequence of
changes: cases opened, answered, resolved, reopened, moved to another team, breached by the
sweep, deleted; before and after the worker folds the deltas; and a window must be whole hours."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from serviceloop.cases.choices import CaseStatus
from serviceloop.cases.models import Case
from serviceloop.cases.services import case_assign, case_reopen, case_set_status
from serviceloop.sla import counters
from serviceloop.sla.live import ACTIVE, live_panels, live_scope
from serviceloop.sla.models import CaseHourCount, ClockHourCount, SlaClock
from serviceloop.sla.sweep import sla_sweep
from tests.factories import CaseFactory
from tests.sla.conftest import at

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the counters are PostgreSQL triggers"
    ),
]

STATUSES = [s for s, _ in CaseStatus.choices]


def assert_counts_match(world) -> None:
    scopes = (None, (world.front.pk,), (world.back.pk,), (world.front.pk, world.back.pk))
    for teams in scopes:
        for statuses in (ACTIVE, STATUSES):
            kept = sorted(counters.case_counts_by_stage(teams, statuses))
            assert kept == sorted(counters.case_counts_by_stage(teams, statuses, recount=True))
            for since in (at(0, 0) - timedelta(days=7), at(0, 9), at(1, 10)):
                kept_hours = counters.case_counts_by_hour(teams, since=since, statuses=statuses)
                assert kept_hours == counters.case_counts_by_hour(
                    teams, since=since, statuses=statuses, recount=True
                )
        for since, until in (
            (at(0, 0) - timedelta(days=7), None),
            (at(0, 10), at(1, 0)),
            (at(2, 0), at(3, 0)),
        ):
            for metric in (None, "first_response", "resolution"):
                kept_clocks = counters.clock_counts(teams, since=since, until=until, metric=metric)
                assert kept_clocks == counters.clock_counts(
                    teams, since=since, until=until, metric=metric, recount=True
                )


def test_counters_equal_a_recount_after_every_kind_of_change(world, sla, leads):
    cases = [CaseFactory(at=at(0, 9, 5 * i)) for i in range(6)]
    cases.append(CaseFactory(at=at(1, 10, 30), priority="urgent"))
    assert_counts_match(world)
    case_set_status(case=cases[0], actor=world.manager, status="resolved", at=at(0, 9, 45))
    case_set_status(case=cases[1], actor=world.manager, status="pending", at=at(0, 10))
    sla_sweep(now=at(0, 12))  # first responses breached
    assert_counts_match(world)
    case_assign(case=cases[2], assignee=world.back_agent, actor=world.manager, at=at(0, 12, 30))
    assert Case.objects.get(pk=cases[2].pk).team_id == world.back.pk  # it moved team
    assert counters.live_counts_fold()
    assert_counts_match(world)
    case_set_status(case=cases[2], actor=world.manager, status="resolved", at=at(1, 9))
    case_reopen(case=Case.objects.get(pk=cases[0].pk), actor=world.manager, at=at(1, 11))
    sla_sweep(now=at(3, 12))  # resolutions breached, the reopened one too
    assert_counts_match(world)
    case_assign(case=cases[3], assignee=world.back_agent, actor=world.manager, at=at(3, 13))
    SlaClock.objects.filter(case=cases[4]).delete()
    assert_counts_match(world)
    assert counters.live_counts_fold()
    assert_counts_match(world)
    week = counters.clock_counts(None, since=at(0, 0) - timedelta(days=7))
    assert week.met and week.breached and week.stopped  # every kind of count was exercised
    back = counters.clock_counts((world.back.pk,), since=at(0, 0))
    assert back.breached and back.stopped  # clocks followed their cases to the back team
    # folded: one row per key, none of them fresh
    assert not CaseHourCount.objects.filter(folded=False).exists()
    assert not ClockHourCount.objects.filter(folded=False).exists()
    # the page reads the counters and shows what a recount says
    panels = live_panels(live_scope(leads.back), now=at(3, 14))
    recount = counters.case_counts_by_stage((world.back.pk,), ACTIVE, recount=True)
    assert sum(r["open"] + r["pending"] for r in panels["wip"]) == sum(n for *_, n in recount)
    assert sum(n for _, n in panels["ageing"]) == sum(n for *_, n in recount)


def test_windows_must_be_whole_hours(world, sla):
    with pytest.raises(ValueError, match="whole UTC hour"):
        counters.clock_counts(None, since=at(0, 9, 30))
    with pytest.raises(ValueError, match="whole UTC hour"):
        counters.case_counts_by_hour(None, since=at(0, 9), until=at(0, 9) + timedelta(seconds=1))
