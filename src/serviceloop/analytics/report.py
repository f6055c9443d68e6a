"""One self-contained, offline HTML report of an analysis (no CDN, no server).

The page inlines the front-end libraries ServiceLoop serves itself (ECharts and viz.js, copied
into ``serviceloop/static/vendor`` by ``make assets``) and embeds the results as JSON in a
``<script type="application/json">`` block with ``<``, ``>`` and ``&`` escaped, so nothing read
from a log (activity names with HTML or quotes) can break out of the data; the page builds
every table with ``textContent`` and every Graphviz label with DOT escaping. The process map
is computed in the browser from the embedded DFG: frequency/performance toggle and Disco-like
activity and path sliders (the same rule as :func:`~serviceloop.analytics.process_map`).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ._json import clean, records
from .errors import AnalyticsError

if TYPE_CHECKING:  # a report without conformance loads neither conformance nor YAML code;
    # the analyses (and Narwhals) load with them, not with the assets the command reads first
    from .conformance import ConformanceResult
    from .eventlog import EventLog
    from .process_model import ProcessSpec
    from .result import AnalysisResult

__all__ = [
    "ReportAssets",
    "ReportAssetsError",
    "load_assets",
    "render_page",
    "render_report",
    "write_report",
]

_TEMPLATE = Path(__file__).with_name("_report_template.html")
_ASSET_FILES = {"echarts": "echarts.min.js", "viz": "viz-global.js"}
# Where the assets may be: the installed package's static/vendor (what ``make assets`` fills),
# then a source checkout's node_modules.
_VENDOR = Path(__file__).resolve().parents[1] / "static" / "vendor"
_NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"
_NODE_PATHS = {"echarts": "echarts/dist/echarts.min.js", "viz": "@viz-js/viz/dist/viz-global.js"}
MAX_EDGES = 5000  # DFG edges embedded in the page (most frequent first)
MAX_VARIANTS = 100
MAX_ROWS = 200  # rows of the long tables (bottlenecks, handovers, ...)
_HIST_BINS = 40


class ReportAssetsError(AnalyticsError):
    """The front-end libraries the report inlines are not installed."""


@dataclass(frozen=True)
class ReportAssets:
    """The JavaScript inlined into every report, as the files' UTF-8 bytes: the page is put
    together and written as bytes, never decoded and encoded again (2.3 MB of scripts that
    are not all ASCII: 0.008 s of CPU a report)."""

    echarts: bytes
    viz: bytes


def load_assets(directory: str | Path | None = None) -> ReportAssets:
    """Read ``echarts.min.js`` and ``viz-global.js`` (from ``directory`` when given).

    Raises
    ------
    ReportAssetsError
        When a file is missing, with the command that installs them.
    """
    found: dict[str, bytes] = {}
    missing: list[str] = []
    for key, name in _ASSET_FILES.items():
        candidates = (
            [Path(directory) / name]
            if directory is not None
            else [_VENDOR / name, _NODE_MODULES / _NODE_PATHS[key]]
        )
        for candidate in candidates:
            if candidate.is_file():
                found[key] = candidate.read_bytes()
                break
        else:
            missing.append(name)
    if missing:
        where = Path(directory) if directory is not None else _VENDOR
        raise ReportAssetsError(
            f"the HTML report needs {' and '.join(missing)} in {where}, which this installation "
            "lacks; run `make assets` in the ServiceLoop source folder (it installs them with npm "
            "and copies them there), or use --json only"
        )
    return ReportAssets(echarts=found["echarts"], viz=found["viz"])


def _inline_js(code: bytes) -> bytes:
    """JavaScript safe inside ``<script>``: no ``</script`` or ``<!--`` can end the element
    (an HTML parser ends it on ``</script`` in any ASCII case, which is what matches here)."""
    code = re.sub(rb"</(script)", rb"<\\/\1", code, flags=re.IGNORECASE)
    return code.replace(b"<!--", b"<\\!--")


def _json_for_html(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _rows(frame: pl.DataFrame, limit: int | None = MAX_ROWS) -> list[dict[str, Any]]:
    return records(frame if limit is None else frame.head(limit))


def _histogram(durations: pl.Series) -> dict[str, Any]:
    """Bins of case durations (seconds), linear from the shortest case to the 99th percentile;
    the slowest 1% are counted in ``overflow`` so one outlier cannot flatten the chart."""
    d = durations.drop_nulls().cast(pl.Float64)
    if d.is_empty():
        return {"edges": [], "counts": [], "overflow": 0}
    # Polars only: NumPy's import alone would cost a small run a tenth of a second.
    lo = float(d.min())  # type: ignore[arg-type]
    top = float(d.max())  # type: ignore[arg-type]
    hi = float(d.quantile(0.99, interpolation="linear") or lo)
    if hi <= lo:
        hi = top
    if hi <= lo:
        hi = lo + 1.0
    width = (hi - lo) / _HIST_BINS
    idx = ((d - lo) / width).floor().cast(pl.Int64)
    # the value exactly at the top edge belongs to the last regular bin
    idx = pl.Series(idx).set(d == hi, _HIST_BINS - 1).clip(0, _HIST_BINS)
    bins = [0] * (_HIST_BINS + 1)
    for i, c in idx.value_counts().iter_rows():
        bins[int(i)] = int(c)
    return {
        "edges": [lo + width * i for i in range(_HIST_BINS + 1)],
        "counts": bins[:_HIST_BINS],
        "overflow": bins[_HIST_BINS],
    }


def _report_data(
    log: EventLog,
    result: AnalysisResult,
    conformance: ConformanceResult | None,
    spec: ProcessSpec | None,
    title: str,
) -> dict[str, Any]:
    from .times import time_basis

    summary = result.duration_summary.row(0, named=True)
    activities = (
        pl.DataFrame({"activity": result.activities})
        .join(
            result.activity_times.select("activity", "count"),
            on="activity",
            how="left",
        )
        .with_columns(pl.col("count").fill_null(0))
        .sort(["count", "activity"], descending=[True, False])
    )
    data: dict[str, Any] = {
        "title": title,
        "generated": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "events": result.events,
        "cases": result.cases,
        "has_start": log.has_start,
        "time_basis": time_basis(log),
        "duration": {k: clean(v) for k, v in summary.items()},
        "activities": _rows(activities, None),
        "start": _rows(result.start_activities, None),
        "end": _rows(result.end_activities, None),
        "dfg": _rows(result.dfg, MAX_EDGES),
        "dfg_total": result.dfg.height,
        "variants": _rows(result.enum_variants, MAX_VARIANTS),
        "variants_total": result.enum_variants.height,
        "histogram": _histogram(result.case_durations["duration_seconds"]),
        "bottlenecks": _rows(result.bottlenecks),
        "activity_times": _rows(result.activity_times),
        "rework": _rows(result.rework),
        "rework_cases": {
            "with_rework": result.cases_with_rework,
            "cases": result.cases,
        },
        "throughput": _rows(result.throughput_week, None),
        "resources": _rows(result.resources),
        "handovers": _rows(result.handovers),
    }
    if conformance is not None and spec is not None:
        data["conformance"] = {
            "process": {"code": spec.code, "name": spec.name},
            "summary": {k: clean(v) for k, v in conformance.summary.items()},
            "stages": [
                {
                    "code": s.code,
                    "name": s.name,
                    "name_zh": s.name_zh,
                    "start": s.start,
                    "end": s.end,
                }
                for s in spec.stages
            ],
            "declared": [
                {"source": t.source, "target": t.target, "kind": t.kind} for t in spec.transitions
            ],
            "transitions": _rows(conformance.transitions, None),
            "unmapped": _rows(conformance.activities.filter(pl.col("stage").is_null())),
            "stage_times": _rows(conformance.stage_times, None),
            "variants": _rows(conformance.variants, MAX_VARIANTS),
            "skipped": _rows(
                conformance.deviations.filter(pl.col("kind") == "skipped")
                .group_by("target")
                .agg(pl.len().alias("cases"))
                .sort(["cases", "target"], descending=[True, False])
                .rename({"target": "stage"}),
                None,
            ),
        }
    return data


def render_report(
    log: EventLog,
    result: AnalysisResult,
    *,
    conformance: ConformanceResult | None = None,
    spec: ProcessSpec | None = None,
    title: str = "Event log",
    assets: ReportAssets | None = None,
) -> str:
    """The report as one HTML string (about 2.5 MB: the two libraries are inlined).

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import analyze, from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1], "activity": ["<a>", "b"],
    ...                                 "timestamp": [0, 60]}))
    >>> page = render_report(log, analyze(log), title="demo")  # doctest: +SKIP
    """
    page = render_page(log, result, conformance=conformance, spec=spec, title=title, assets=assets)
    return page.decode("utf-8")


def render_page(
    log: EventLog,
    result: AnalysisResult,
    *,
    conformance: ConformanceResult | None = None,
    spec: ProcessSpec | None = None,
    title: str = "Event log",
    assets: ReportAssets | None = None,
) -> bytes:
    """:func:`render_report`'s page as the UTF-8 bytes written to a file."""
    assets = assets or load_assets()
    data = _report_data(log, result, conformance, spec, title)
    parts = {
        b"TITLE": html.escape(title).encode("utf-8"),
        b"DATA": _json_for_html(data).encode("utf-8"),
        b"ECHARTS": _inline_js(assets.echarts),
        b"VIZ": _inline_js(assets.viz),
    }
    template = _TEMPLATE.read_bytes()
    # One pass, so nothing inserted is scanned for markers again.
    return re.sub(rb"\{\{(TITLE|DATA|ECHARTS|VIZ)\}\}", lambda m: parts[m.group(1)], template)


def write_report(
    path: str | Path,
    log: EventLog,
    result: AnalysisResult,
    *,
    conformance: ConformanceResult | None = None,
    spec: ProcessSpec | None = None,
    title: str | None = None,
) -> Path:
    """Render and write the report to ``path`` (whole file or nothing); returns the path."""
    p = Path(path)
    page = render_page(log, result, conformance=conformance, spec=spec, title=title or p.stem)
    partial = p.with_name(p.name + ".partial")
    try:
        partial.write_bytes(page)
        partial.replace(p)
    finally:
        partial.unlink(missing_ok=True)
    return p
