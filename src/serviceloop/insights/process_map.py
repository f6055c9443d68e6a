"""Graphviz DOT for the discovered process map; the browser lays it out with viz.js.

Activities are boxes shaded by frequency; edges are drawn thicker the more cases take them and
labelled with the case count (frequency view) or the median time between the two stages
(performance view). Edges that are not allowed transitions of the compared process version, and
starts at a stage other than its start stage, carry ``class="deviation"`` and are drawn red. All
text is escaped, so activity names cannot inject DOT.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Literal

from serviceloop.analytics import ProcessMap

__all__ = ["DEVIATION_COLOR", "Measure", "discovered_dot"]

Measure = Literal["frequency", "performance"]
DEVIATION_COLOR = "#dc2626"
_EDGE_COLOR = "#475569"
_SHADES = ("#eff6ff", "#dbeafe", "#bfdbfe", "#93c5fd", "#60a5fa")


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{escaped}"'


def _attrs(pairs: Mapping[str, str | float]) -> str:
    out = []
    for key, value in pairs.items():
        text = f"{value:.2f}" if isinstance(value, float) else str(value)
        out.append(f"{key}={_quote(text)}")
    return ", ".join(out)


def _shade(value: float, top: float) -> str:
    if top <= 0:
        return _SHADES[0]
    return _SHADES[min(len(_SHADES) - 1, int(value / top * (len(_SHADES) - 1) + 0.5))]


def discovered_dot(
    pmap: ProcessMap,
    *,
    measure: Measure = "frequency",
    disallowed: Collection[tuple[str, str]] = (),
    bad_starts: Collection[str] = (),
    label: Callable[[str], str] = str,
    duration: Callable[[float | None], str] = lambda s: "" if s is None else f"{s:.0f} s",
    number: Callable[[int], str] = str,
) -> str:
    """The DOT text of ``pmap``.

    ``disallowed`` holds (source, target) activity pairs to mark as deviations, ``bad_starts``
    activities where a case may not begin; ``label`` turns an activity into its display name,
    ``duration`` formats seconds and ``number`` formats counts (localised by the caller).
    """
    nodes = pmap.nodes.select("activity", "count").rows()
    ids = {activity: f"a{i}" for i, (activity, _n) in enumerate(nodes)}
    top_node = max((n for _a, n in nodes), default=0)
    lines = [
        'digraph "discovered" {',
        '  graph [rankdir=TB, nodesep=0.4, ranksep=0.45, fontname="sans-serif"];',
        '  node [shape=box, style="rounded,filled", fontname="sans-serif", fontsize=11, '
        'margin="0.2,0.08", color="#64748b"];',
        '  edge [fontname="sans-serif", fontsize=9, arrowsize=0.7];',
        '  "__start" [shape=circle, label="", width=0.22, style=filled, fillcolor="#16a34a", '
        'color="#16a34a"];',
        '  "__end" [shape=doublecircle, label="", width=0.16, style=filled, fillcolor="#334155", '
        'color="#334155"];',
    ]
    for activity, count in nodes:
        node = {
            "label": f"{label(activity)}\n{number(count)}",
            "tooltip": label(activity),
            "fillcolor": _shade(count, top_node),
        }
        lines.append(f"  {ids[activity]} [{_attrs(node)}];")

    edges = pmap.edges
    top_count = max(edges["count"].max() or 0, 1) if edges.height else 1  # type: ignore[operator]
    for row in edges.iter_rows(named=True):
        source, target, count = row["source"], row["target"], row["count"]
        if source not in ids or target not in ids:
            continue
        text = number(count) if measure == "frequency" else duration(row["median_seconds"])
        attrs: dict[str, str | float] = {
            "label": text,
            "penwidth": 1.0 + 4.0 * count / top_count,
            "tooltip": f"{label(source)} → {label(target)}: {number(count)}",
        }
        if (source, target) in disallowed:
            attrs |= {"class": "deviation", "color": DEVIATION_COLOR, "fontcolor": DEVIATION_COLOR}
        else:
            attrs["color"] = _EDGE_COLOR
        lines.append(f"  {ids[source]} -> {ids[target]} [{_attrs(attrs)}];")

    for boundary, frame in (("start", pmap.start), ("end", pmap.end)):
        for activity, count in frame.select("activity", "count").rows():
            if activity not in ids:
                continue
            attrs = {"label": number(count), "style": "dashed", "color": "#94a3b8"}
            if boundary == "start" and activity in bad_starts:
                attrs |= {"class": "deviation", "color": DEVIATION_COLOR, "style": "bold"}
            pair = (
                f'"__start" -> {ids[activity]}'
                if boundary == "start"
                else f'{ids[activity]} -> "__end"'
            )
            lines.append(f"  {pair} [{_attrs(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
