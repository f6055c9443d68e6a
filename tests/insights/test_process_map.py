"""The discovered map's DOT: deviations marked on exactly the disallowed edges and starts."""

from __future__ import annotations

import re

import polars as pl

from serviceloop.analytics import from_polars, process_map
from serviceloop.analytics.conformance import check_conformance
from serviceloop.analytics.process_model import parse_process_yaml
from serviceloop.insights.pages import _deviation_pairs
from serviceloop.insights.process_map import DEVIATION_COLOR, discovered_dot

SPEC = parse_process_yaml(
    """
process: {code: p, name: P}
stages:
  - {code: a, name: Open, start: true}
  - {code: b, name: Work}
  - {code: c, name: Done, end: true}
transitions:
  - {from: a, to: b}
  - {from: b, to: c}
  - {from: c, to: b, kind: rework}
"""
)
LOG = from_polars(
    pl.DataFrame(
        {
            "case_id": [1, 1, 1, 2, 2, 3, 3, 3, 4, 4],
            "activity": [
                "Open",
                "Work",
                "Done",
                "Open",
                "Done",
                "Work",
                "Done",
                "Open",
                "Open",
                "Work",
            ],
            "timestamp": [0, 10, 20, 0, 30, 0, 5, 9, 0, 4],
        }
    )
)


def _marked(dot: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    names = dict(re.findall(r'^  (a\d+) \[label="([^"\\]+)', dot, re.M))
    names |= {'"__start"': "START", '"__end"': "END"}
    marked, plain = set(), set()
    for source, target, attrs in re.findall(r"^  (\S+) -> (\S+) \[(.*)\];$", dot, re.M):
        edge = (names[source], names[target])
        if 'class="deviation"' in attrs:
            assert f'color="{DEVIATION_COLOR}"' in attrs
            marked.add(edge)
        else:
            plain.add(edge)
    return marked, plain


def test_only_disallowed_edges_and_wrong_starts_are_marked() -> None:
    conf = check_conformance(LOG, SPEC)
    pairs, starts = _deviation_pairs(conf, LOG.activities)
    assert pairs == {("Open", "Done"), ("Done", "Open")}
    assert starts == {"Work"}
    dot = discovered_dot(process_map(LOG), disallowed=pairs, bad_starts=starts)
    marked, plain = _marked(dot)
    assert marked == {("Open", "Done"), ("Done", "Open"), ("START", "Work")}
    assert {("Open", "Work"), ("Work", "Done"), ("START", "Open")} <= plain


def test_a_log_that_follows_the_design_marks_nothing() -> None:
    log = from_polars(
        pl.DataFrame(
            {
                "case_id": [1, 1, 1, 1],
                "activity": ["Open", "Work", "Done", "Work"],
                "timestamp": [0, 1, 2, 3],
            }
        )
    )
    pairs, starts = _deviation_pairs(check_conformance(log, SPEC), log.activities)
    assert (pairs, starts) == (set(), set())
    marked, _plain = _marked(discovered_dot(process_map(log), disallowed=pairs))
    assert marked == set()


def test_activity_names_are_escaped() -> None:
    log = from_polars(
        pl.DataFrame({"case_id": [1, 1], "activity": ['Say "hi"\\n', "x];y"], "timestamp": [0, 1]})
    )
    dot = discovered_dot(process_map(log))
    assert 'label="Say \\"hi\\"\\\\n\\n1"' in dot
    assert dot.count("digraph") == 1 and dot.rstrip().endswith("}")


def test_performance_view_labels_edges_with_median_times() -> None:
    dot = discovered_dot(process_map(LOG), measure="performance", duration=lambda s: f"{s:.0f}s")
    assert 'label="7s"' in dot  # Open -> Work: 10 s in case 1, 4 s in case 4


def test_designed_chart_marks_late_and_skipped_stages() -> None:
    from serviceloop.insights.pages import highlight_designed

    dot = 'digraph "p" {\n  "s_a" [label="A"];\n  "s_b" [label="B"];\n  "s_c" [label="C"];\n}\n'
    out = highlight_designed(dot, late={"a": 0.6, "b": 0.25, "c": 0.1}, skipped={"c"})
    assert out.startswith(dot.rstrip()[:-1])  # the original statements are kept
    assert out.rstrip().endswith("}") and out.count("}") == 1
    assert '"s_a" [style="rounded,filled", fillcolor="#fecaca"' in out
    assert '"s_b" [style="rounded,filled", fillcolor="#fed7aa"' in out
    assert '"s_c" [style="rounded,dashed", color="#dc2626", penwidth=2];' in out
    assert highlight_designed(dot, late={"a": 0.1}, skipped=set()) == dot
