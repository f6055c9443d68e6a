"""The demo's service standards, so that ``serviceloop demo`` opens on a service that is timed:
clocks, warnings, breaches, escalations, quality standards, alerts and control charts.

A Shanghai calendar with China's holidays and make-up days; an urgent/high policy and a
standard one; escalation (a missed first response raises the priority, a missed resolution tells
the assignee and the managers); quality standards; alert rules on the specialists' backlog and on
the breach-rate chart; the first agent of each team leads it (the live page's team leads). The
understaffed specialists team misses its targets most.
"""

from __future__ import annotations

from django.db.models import Min

from serviceloop.accounts.models import AgentProfile
from serviceloop.processes.models import ServiceProcess, Stage
from serviceloop.sla.models import (
    AlertRule,
    BusinessCalendar,
    EscalationRule,
    QualityStandard,
    SlaPolicy,
    SlaTarget,
)
from serviceloop.sla.selectors import setup_forget

__all__ = ["sla_demo_install"]

# (first response, next response, resolution) in working minutes
# The resolution targets sit in the tail of the demo's cycle times (its waits come from the
# teams' capacity): the specialists' queue pushes some cases past them.
URGENT_TARGETS = (60, 4 * 60, 2 * 9 * 60)
STANDARD_TARGETS = (4 * 60, 9 * 60, 5 * 9 * 60)


def _targets(policy: SlaPolicy, minutes: tuple[int, int, int]) -> None:
    SlaTarget.objects.bulk_create(
        [
            SlaTarget(policy=policy, metric=metric, minutes=m)
            for metric, m in zip(
                ("first_response", "next_response", "resolution"), minutes, strict=True
            )
        ]
    )


def sla_demo_install(*, process: ServiceProcess, time_zone: str) -> None:
    BusinessCalendar.objects.create(name="Service desk", time_zone=time_zone, country="CN")
    urgent = SlaPolicy.objects.create(
        name="Urgent and high", order=10, priorities=["urgent", "high"], process=process
    )
    standard = SlaPolicy.objects.create(name="Standard", order=20, process=process)
    _targets(urgent, URGENT_TARGETS)
    _targets(standard, STANDARD_TARGETS)
    EscalationRule.objects.bulk_create(
        [
            EscalationRule(policy=standard, order=1, trigger="breach", metric="first_response", action="raise_priority"),
            EscalationRule(policy=standard, order=2, trigger="breach", metric="resolution", action="notify"),
            EscalationRule(policy=urgent, order=1, trigger="breach", metric="resolution", action="notify"),
        ]
    )  # fmt: skip
    QualityStandard.objects.bulk_create(
        [
            QualityStandard(process=process, indicator="reopen_rate", target=0.08),
            QualityStandard(process=process, indicator="rework_rate", target=0.15),
            QualityStandard(process=process, indicator="first_contact_resolution", target=0.5),
        ]
    )
    specialists = (
        Stage.objects.filter(version__process=process, responsible_team__code="specialists")
        .order_by("-version__number", "order")
        .first()
    )
    if specialists is not None:
        AlertRule.objects.create(
            name="Specialists' backlog",
            kind="stage_backlog",
            stage_code=specialists.code,
            team=specialists.responsible_team,
            threshold=15,
        )
    AlertRule.objects.create(name="Breach rate out of control", kind="breach_rate_signal")
    firsts = AgentProfile.objects.values("team_id").annotate(first=Min("id"))
    AgentProfile.objects.filter(pk__in=[row["first"] for row in firsts]).update(is_lead=True)
    setup_forget()
