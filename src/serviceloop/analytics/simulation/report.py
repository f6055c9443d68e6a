"""An offline HTML page of a simulation: as-is beside each scenario, with intervals.

Plain HTML and CSS, no script at all (nothing to fetch, nothing to run); every name that came
from a log is escaped. Bars show each scenario's mean cycle time against as-is.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from pathlib import Path

from .results import Estimate, ScenarioResult, SimulationResult

__all__ = ["render_simulation_report", "write_simulation_report"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1f2933}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{padding:.3rem .5rem;border-bottom:1px solid #e4e7eb;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
.ci{color:#7b8794;font-size:.85em;display:block}.better{color:#0b7a3e}.worse{color:#b42318}
.bar{background:#3e7cb1;height:.8rem;display:inline-block}.note{color:#52606d}
"""

_MEASURES = [
    ("cycle_time_mean_seconds", "Cycle time, mean", "time", -1),
    ("cycle_time_median_seconds", "Cycle time, median", "time", -1),
    ("cycle_time_p90_seconds", "Cycle time, p90", "time", -1),
    ("sla_attainment", "SLA attainment", "share", 1),
    ("throughput_per_week", "Throughput (cases/week)", "number", 1),
    ("unfinished_share", "Unfinished at the end", "share", -1),
]


def _human(seconds: float) -> str:
    if math.isnan(seconds):
        return "n/a"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _fmt(x: float, kind: str) -> str:
    if math.isnan(x):
        return "n/a"
    if kind == "time":
        return _human(x)
    if kind == "share":
        return f"{x:.1%}"
    return f"{x:,.2f}"


def _cell(e: Estimate, kind: str, diff: Estimate | None = None, good: int = 0) -> str:
    ci = (
        f"<span class=ci>95 % CI {_fmt(e.low, kind)} – {_fmt(e.high, kind)}</span>"
        if not math.isnan(e.low)
        else ""
    )
    extra = ""
    if diff is not None and not math.isnan(diff.mean):
        sign = "+" if diff.mean >= 0 else "−"
        significant = not math.isnan(diff.low) and (diff.low > 0 or diff.high < 0)
        css = ""
        if significant and good:
            css = "better" if (diff.mean > 0) == (good > 0) else "worse"
        extra = (
            f"<span class='ci {css}'>{sign}{_fmt(abs(diff.mean), kind)} vs as-is"
            f"{'' if significant else ' (within noise)'}</span>"
        )
    return f"<td>{_fmt(e.mean, kind)}{ci}{extra}</td>"


def render_simulation_report(result: SimulationResult, *, title: str = "Simulation") -> str:
    """The whole page as a string."""
    runs: list[ScenarioResult] = [result.as_is, *result.scenarios]
    esc = html.escape
    head = "".join(f"<th>{esc(r.name)}</th>" for r in runs)
    rows = []
    for key, label, kind, good in _MEASURES:
        cells = "".join(
            _cell(r.measures[key], kind, r.difference.get(key) if i else None, good)
            for i, r in enumerate(runs)
        )
        rows.append(f"<tr><td>{esc(label)}</td>{cells}</tr>")
    wait_rows = []
    for act in result.as_is.waiting:
        cells = "".join(
            _cell(r.waiting[act], "time", r.waiting_difference.get(act) if i else None, -1)
            if act in r.waiting
            else "<td>removed</td>"
            for i, r in enumerate(runs)
        )
        wait_rows.append(f"<tr><td>{esc(act)}</td>{cells}</tr>")
    util_rows = []
    for pool in result.as_is.utilisation:
        cells = "".join(
            _cell(r.utilisation[pool], "share", r.utilisation_difference.get(pool) if i else None)
            if pool in r.utilisation
            else "<td>removed</td>"
            for i, r in enumerate(runs)
        )
        util_rows.append(f"<tr><td>{esc(pool)}</td>{cells}</tr>")
    top = max(
        (r.measures["cycle_time_mean_seconds"].mean for r in runs),
        default=1.0,
        key=lambda x: -1 if math.isnan(x) else x,
    )
    bars = []
    for r in runs:
        m = r.measures["cycle_time_mean_seconds"].mean
        width = 0 if math.isnan(m) or not top else 100 * m / top
        bars.append(
            f"<tr><td>{esc(r.name)}</td><td style='text-align:left'><span class=bar "
            f"style='width:{width:.1f}%'></span> {_human(m)}</td></tr>"
        )
    changes = "".join(
        f"<li><b>{esc(s.name)}</b>: {esc('; '.join(s.changes))}</li>" for s in result.scenarios
    )
    st = result.settings
    model = result.model
    pools = "".join(
        f"<tr><td>{esc(p.name)}</td><td>{p.staff}</td><td>{p.multitasking:.2f}</td>"
        f"<td style='text-align:left'>{esc(p.describe_hours())}</td></tr>"
        for p in model.pools
    )
    observed = model.info.get("observed", {})
    obs = ""
    if observed:
        obs = (
            "<p class=note>The log itself: cycle time mean "
            f"{_human(observed['cycle_time_mean_seconds'])}, median "
            f"{_human(observed['cycle_time_median_seconds'])}, p90 "
            f"{_human(observed['cycle_time_p90_seconds'])}; "
            f"{observed['cases_per_week']:.1f} cases per week.</p>"
        )
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>{esc(title)}</title>
<meta name=viewport content="width=device-width,initial-scale=1"><style>{_CSS}</style></head>
<body><h1>{esc(title)}</h1>
<p class=note>{st["replications"]} replications of {st["weeks"]:g} weeks after {st["warmup_weeks"]:g}
warm-up weeks, seed {st["seed"]}, engine {esc(str(st["engine"]))}; SLA {_human(st["sla_seconds"])}
({esc(str(st["sla_source"]))}). Intervals are 95 % Student-t over replications; differences are
paired (scenarios share random numbers with as-is). Generated
{dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}.</p>
{obs}
<h2>Scenarios</h2><ul>{changes or "<li>as-is only</li>"}</ul>
<h2>Cycle time</h2><table>{"".join(bars)}</table>
<h2>Measures</h2><table><tr><th></th>{head}</tr>{"".join(rows)}</table>
<h2>Waiting before each stage</h2><table><tr><th></th>{head}</tr>{"".join(wait_rows)}</table>
<h2>Utilisation per pool</h2><table><tr><th></th>{head}</tr>{"".join(util_rows)}</table>
<h2>As-is model</h2><table><tr><th>pool</th><th>staff</th><th>multitasking</th>
<th>working hours</th></tr>{pools}</table>
</body></html>
"""


def write_simulation_report(
    path: str | Path, result: SimulationResult, *, title: str | None = None
) -> Path:
    """Write :func:`render_simulation_report` to ``path``."""
    p = Path(path)
    p.write_text(render_simulation_report(result, title=title or "Simulation"), encoding="utf-8")
    return p
