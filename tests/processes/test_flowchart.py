from __future__ import annotations

import re

import pytest
from django.utils import translation

from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.flowchart import format_minutes, version_dot
from serviceloop.processes.models import Stage
from tests.factories import build_process_version

pytestmark = pytest.mark.django_db


def _edge_attrs(dot: str, source: str, target: str) -> str:
    match = re.search(rf'"s_{source}" -> "s_{target}" \[([^\]]*)\]', dot)
    assert match is not None, dot
    return match.group(1)


def test_stages_are_boxes_with_name_team_and_time_standard() -> None:
    version = build_process_version()
    dot = version_dot(version)
    assert dot.startswith("digraph ")
    analysis = version.stages.select_related("responsible_team").get(code="analysis")
    assert analysis.responsible_team is not None
    assert f'label="Needs analysis\\n{analysis.responsible_team.name}\\n4 h"' in dot
    assert "shape=box" in dot
    closed_line = next(line for line in dot.splitlines() if line.startswith('  "s_closed" ['))
    assert "peripheries=2" in closed_line
    assert "Agent" in closed_line  # no team: the responsible role is shown


def test_stage_names_follow_the_active_language() -> None:
    version = build_process_version()
    with translation.override("zh-hans"):
        dot = version_dot(version)
    assert 'label="需求分析\\n' in dot
    with translation.override("en"):
        assert 'label="Needs analysis\\n' in version_dot(version)


def test_edge_styles_by_kind() -> None:
    dot = version_dot(build_process_version())
    assert "style=solid" in _edge_attrs(dot, "intake", "analysis")
    rework = _edge_attrs(dot, "delivery", "analysis")
    assert "style=dashed" in rework and "#d97706" in rework
    escalation = _edge_attrs(dot, "intake", "delivery")
    assert "#dc2626" in escalation and "style=bold" in escalation


def test_text_is_escaped() -> None:
    version = build_process_version(status=VersionStatus.DRAFT)
    Stage.objects.filter(version=version, code="intake").update(name='Say "hi" \\N } ]; x')
    dot = version_dot(version)
    assert 'label="Say \\"hi\\" \\\\N } ]; x\\n' in dot
    # every quote inside the label is escaped: the node line still parses as one attribute list
    line = next(ln for ln in dot.splitlines() if ln.startswith('  "s_intake" ['))
    assert line.endswith("];")


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(None, ""), (0, "0 min"), (45, "45 min"), (60, "1 h"), (90, "1 h 30 min"), (1500, "1 d 1 h")],
)
def test_format_minutes(minutes: int | None, text: str) -> None:
    assert format_minutes(minutes) == text
