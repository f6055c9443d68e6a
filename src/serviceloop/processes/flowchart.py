"""Graphviz DOT for a process version; the browser lays it out with viz.js.

Stages are boxes (name in the active language, responsible team or role, time standard); the start
stage is filled, end stages have a double border. Forward edges are solid, rework edges dashed
orange, escalation edges bold red. All text is escaped, so stage names cannot inject DOT.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from serviceloop.processes.choices import TransitionKind
from serviceloop.processes.models import ProcessVersion, Stage, Transition

__all__ = ["EDGE_STYLES", "format_minutes", "version_dot"]

EDGE_STYLES: dict[str, str] = {
    TransitionKind.FORWARD: 'style=solid, color="#334155"',
    TransitionKind.REWORK: 'style=dashed, color="#d97706", fontcolor="#b45309", constraint=false',
    TransitionKind.ESCALATION: 'style=bold, color="#dc2626", fontcolor="#dc2626", constraint=false',
}


def _quote(text: str) -> str:
    """A DOT double-quoted string; backslashes first so escapes like ``\\N`` stay literal text."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{escaped}"'


def format_minutes(minutes: int | None) -> str:
    """``90`` -> ``1 h 30 min``; days are calendar days of 24 h (working time is the SLA's job)."""
    if minutes is None:
        return ""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(_("%(n)d d") % {"n": days})
    if hours:
        parts.append(_("%(n)d h") % {"n": hours})
    if mins or not parts:
        parts.append(_("%(n)d min") % {"n": mins})
    return " ".join(parts)


def _stage_label(stage: Stage) -> str:
    lines = [stage.display_name]
    if stage.responsible_team is not None:
        lines.append(stage.responsible_team.display_name)
    else:
        lines.append(stage.get_responsible_role_display())
    if stage.time_standard_minutes is not None:
        lines.append(format_minutes(stage.time_standard_minutes))
    return "\n".join(lines)


def _stage_node(stage: Stage) -> str:
    attrs = [f"label={_quote(_stage_label(stage))}", f"tooltip={_quote(stage.code)}"]
    if stage.is_start:
        attrs.append('style="rounded,filled", fillcolor="#dcfce7"')
    if stage.is_end:
        attrs.append('peripheries=2, style="rounded,filled", fillcolor="#e2e8f0"')
    return f"  {_quote('s_' + stage.code)} [{', '.join(attrs)}];"


def _edge(transition: Transition, codes: dict[int, str]) -> str:
    attrs = [EDGE_STYLES.get(transition.kind, EDGE_STYLES[TransitionKind.FORWARD])]
    if transition.display_label:
        attrs.append(f"label={_quote(transition.display_label)}")
    source, target = codes[transition.source_id], codes[transition.target_id]
    return f"  {_quote('s_' + source)} -> {_quote('s_' + target)} [{', '.join(attrs)}];"


def version_dot(
    version: ProcessVersion,
    *,
    stages: Iterable[Stage] | None = None,
    transitions: Iterable[Transition] | None = None,
) -> str:
    """The DOT text of ``version``; pass ``stages``/``transitions`` already loaded to save queries
    (``process_version_get`` prefetches both)."""
    stage_list = list(stages if stages is not None else version.stages.all())
    edge_list = list(transitions if transitions is not None else version.transitions.all())
    codes = {stage.pk: stage.code for stage in stage_list}
    lines = [
        f"digraph {_quote(f'{version.process.code}-v{version.number}')} {{",
        '  graph [rankdir=LR, nodesep=0.5, ranksep=0.6, fontname="sans-serif"];',
        '  node [shape=box, style=rounded, fontname="sans-serif", fontsize=11, margin="0.2,0.1"];',
        '  edge [fontname="sans-serif", fontsize=9, arrowsize=0.7];',
    ]
    lines += [_stage_node(stage) for stage in sorted(stage_list, key=lambda s: s.order)]
    lines += [_edge(t, codes) for t in edge_list if t.source_id in codes and t.target_id in codes]
    lines.append("}")
    return "\n".join(lines) + "\n"
