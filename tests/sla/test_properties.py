"""Property: through the real case services (pending pauses, reopening resumes, priority changes
switch the policy), the resolution breach is recorded once, at the moment the minute-by-minute
oracle says the clock reached its target, whether a change or the worker records it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serviceloop.cases.models import CaseEvent
from serviceloop.cases.services import case_set_status, case_update
from serviceloop.sla.sweep import sla_sweep
from tests.factories import CaseFactory
from tests.sla.conftest import MONDAY
from tests.sla.oracle import OracleCalendar, oracle_threshold

pytestmark = pytest.mark.django_db

OFFICE = OracleCalendar("UTC", {d: [(540, 1020)] for d in range(5)})  # the ``sla`` fixture's
RESOLUTION = {"low": 960, "normal": 960, "high": 240, "urgent": 240}  # Standard / Urgent policy

operations = st.lists(
    st.tuples(
        st.integers(1, 2 * 1440),  # minutes after the previous operation
        st.sampled_from(["pending", "open", "low", "normal", "high", "urgent"]),
    ),
    max_size=6,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(start=st.integers(0, 6 * 1440), ops=operations)
def test_resolution_breach_recorded_once_when_the_oracle_says(world, sla, start, ops):
    opened = MONDAY + timedelta(minutes=start)
    case = CaseFactory(at=opened)
    status, priority, now = "open", "normal", opened
    oracle_ops: list[tuple[int, str, int]] = []
    for gap, op in ops:
        now += timedelta(minutes=gap)
        if op in ("pending", "open"):
            if op == status:
                continue
            case = case_set_status(case=case, actor=world.manager, status=op, at=now)
            status = op
            oracle_ops.append((_s(now), "pause" if op == "pending" else "resume", 0))
        elif op != priority:
            case = case_update(case=case, actor=world.manager, changes={"priority": op}, at=now)
            if RESOLUTION[op] != RESOLUTION[priority]:
                oracle_ops.append((_s(now), "target", RESOLUTION[op]))
            priority = op
    end = now + timedelta(weeks=4)
    sla_sweep(now=end)

    expected = oracle_threshold(OFFICE, _s(opened), oracle_ops, RESOLUTION["normal"])
    breaches = list(
        CaseEvent.objects.filter(
            case=case, kind="sla_breached", attributes__metric="resolution"
        ).values_list("timestamp", flat=True)
    )
    if expected is None or expected > _s(end):
        assert breaches == []
    else:
        assert [_s(b) for b in breaches] == [expected]


def _s(at: datetime) -> int:
    return int(at.timestamp())
