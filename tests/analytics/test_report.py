"""The offline HTML report: self-contained, escapes everything from the log, draws in a browser."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import polars as pl
import pytest

from serviceloop.analytics import analyze, check_conformance, from_polars, parse_process_yaml
from serviceloop.analytics.report import (
    ReportAssetsError,
    load_assets,
    render_page,
    render_report,
    write_report,
)

EVIL = '</script><script>alert("x")</script>'
NAMES = ["Open & <b>triage</b>", 'Say "hi"', EVIL, "受理 \\ back\nslash"]


@pytest.fixture(scope="module")
def log():
    rows = []
    for case in range(6):
        acts = NAMES if case % 2 else [NAMES[0], NAMES[2], NAMES[3]]
        rows += [(f"c{case}", a, case * 1000 + i * 60 * (case + 1)) for i, a in enumerate(acts)]
    return from_polars(
        pl.DataFrame(rows, schema=["case_id", "activity", "timestamp"], orient="row")
    )


@pytest.fixture(scope="module")
def spec():
    return parse_process_yaml(
        """
process: {code: evil, name: "Evil <process>"}
stages:
  - {code: open, name: "Open & <b>triage</b>", start: true, time_standard_minutes: 1}
  - {code: hi, name: 'Say "hi"'}
  - {code: done, name: "受理 \\\\ back\\nslash", end: true}
transitions:
  - {from: open, to: hi}
  - {from: hi, to: done}
"""
    )


@pytest.fixture(scope="module")
def page(log, spec):
    result = analyze(log)
    return render_report(
        log, result, conformance=check_conformance(log, spec), spec=spec, title="<evil> & co"
    )


def _data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_everything_from_the_log_is_escaped(page):
    # Exactly the page's own four script elements: the log cannot open or close one.
    assert len(re.findall(r"<script\b", page, re.I)) == 4
    assert len(re.findall(r"</script", page, re.I)) == 4
    assert "<b>triage</b>" not in page and EVIL not in page
    assert "<title>&lt;evil&gt; &amp; co · ServiceLoop process report</title>" in page
    data = _data(page)
    assert data["title"] == "<evil> & co"
    assert {a["activity"] for a in data["activities"]} == set(NAMES)
    assert EVIL in {e["source"] for e in data["dfg"]} | {e["target"] for e in data["dfg"]}


def test_embedded_data_matches_the_analysis(page, log):
    data = _data(page)
    result = analyze(log)
    assert data["events"] == result.events and data["cases"] == 6
    assert [v["activities"] for v in data["variants"]] == result.variants["activities"].to_list()
    assert sum(e["count"] for e in data["dfg"]) == result.dfg["count"].sum()
    assert sum(data["histogram"]["counts"]) + data["histogram"]["overflow"] == 6
    assert data["conformance"]["summary"]["cases"] == 6
    assert data["conformance"]["process"] == {"code": "evil", "name": "Evil <process>"}


def test_page_is_self_contained(page):
    # No external script, style, image or frame: everything is inline.
    markup = re.sub(r"(<script\b[^>]*>).*?(</script>)", r"\1\2", page, flags=re.S | re.I)
    assert len(markup) < 30_000
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=", markup, re.I)
    assert "default-src 'none'" in page  # and the page forbids fetching anything at all
    assert "echarts" in page and "Viz.instance" in page


def test_without_conformance_the_section_stays_hidden(log):
    data = _data(render_report(log, analyze(log)))
    assert "conformance" not in data


def test_missing_assets_fail_with_a_clear_message(tmp_path, log):
    with pytest.raises(
        ReportAssetsError, match=r"echarts\.min\.js and viz-global\.js in .*make assets"
    ):
        load_assets(tmp_path)
    (tmp_path / "echarts.min.js").write_text("/* e */", encoding="utf-8")
    with pytest.raises(ReportAssetsError, match=r"needs viz-global\.js in"):
        load_assets(tmp_path)


def test_inlined_scripts_cannot_end_their_element(tmp_path, log):
    (tmp_path / "echarts.min.js").write_text('var a = "</SCRIPT><!--";', encoding="utf-8")
    (tmp_path / "viz-global.js").write_text("var Viz = {};", encoding="utf-8")
    page = render_report(log, analyze(log), assets=load_assets(tmp_path))
    assert 'var a = "<\\/SCRIPT><\\!--";' in page


def test_write_report_writes_the_whole_file(tmp_path, log):
    out = write_report(tmp_path / "r.html", log, analyze(log))
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list(tmp_path.glob("*.partial"))


CHROMIUM = Path(os.environ.get("SERVICELOOP_CHROMIUM", "/usr/bin/chromium"))


@pytest.mark.e2e
def test_report_draws_offline_in_chromium(tmp_path, page):
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        tab = browser.new_page()
        tab.on("pageerror", lambda e: problems.append(str(e)))
        tab.on("dialog", lambda d: problems.append("dialog " + d.message))
        tab.on(
            "request",
            lambda r: problems.append(r.url) if not r.url.startswith(("file:", "data:")) else None,
        )
        tab.goto(path.as_uri())
        tab.wait_for_selector("#map-view svg g.node", timeout=30_000)
        tab.wait_for_selector("#design-view svg g.node", timeout=30_000)
        # 4 activities + start + end; all names shown as text.
        assert tab.locator("#map-view svg g.node").count() == 6
        assert EVIL in (tab.locator("#map-view svg").text_content() or "")
        assert 'Say "hi"' in tab.locator("#variants-table").inner_text()
        tab.fill("#act-slider", "25")
        tab.dispatch_event("#act-slider", "input")
        tab.wait_for_function("document.querySelectorAll('#map-view svg g.node').length === 3")
        tab.check('input[value="performance"]')
        tab.wait_for_timeout(300)
        assert tab.locator("#histogram canvas").count() == 1
        assert "no resources" in tab.locator("#handover-view").inner_text()
        assert not tab.locator("#conformance").is_hidden()
        browser.close()
    assert problems == []


def test_histogram_spans_shortest_case_to_p99_with_an_overflow_bin():
    from serviceloop.analytics.report import _histogram

    h = _histogram(pl.Series([5.0, 5.0, 6.0, 10.0, 15.0] + [7.0] * 200))
    assert h["edges"][0] == 5.0 and h["edges"][-1] == pytest.approx(7.0)
    assert h["counts"][0] == 2 and h["counts"][-1] == 200 and h["overflow"] == 2
    assert sum(h["counts"]) + h["overflow"] == 205
    same = _histogram(pl.Series([3.0, 3.0]))
    assert same["counts"][0] == 2 and same["overflow"] == 0


def test_the_report_module_loads_without_the_analyses():
    """``analyze --report`` reads the assets before the log: the analyses' modules (and
    Narwhals) load beside the Parquet read instead, where they cost no wall time."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from serviceloop.analytics.report import load_assets\n"
        "print(sorted(m for m in ('narwhals', 'serviceloop.analytics.result',\n"
        "    'serviceloop.analytics.discovery', 'serviceloop.analytics.times') if m in sys.modules))\n"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_page_as_bytes_is_the_report_encoded(tmp_path):
    """The command writes :func:`render_page`'s bytes, put together without decoding the
    scripts: the same page as :func:`render_report`'s string in UTF-8, non-ASCII included
    (names, title, scripts), the scripts' ``</script`` and ``<!--`` escaped in any case."""
    (tmp_path / "echarts.min.js").write_text('var e = "é → </Script> <!-- ✓";', encoding="utf-8")
    (tmp_path / "viz-global.js").write_text('var Viz = "ſ </sCRIPT";', encoding="utf-8")
    named = from_polars(
        pl.DataFrame(
            {
                "case_id": [1, 1, 2, 2],
                "activity": ["Prüfung <b>", "Fertig → ✓", "Prüfung <b>", "Fertig → ✓"],
                "timestamp": [0, 60, 0, 120],
            }
        )
    )
    result = analyze(named)
    assets = load_assets(tmp_path)
    as_bytes = render_page(named, result, title="Bericht «1» <x>", assets=assets)
    as_text = render_report(named, result, title="Bericht «1» <x>", assets=assets)

    def undated(page: bytes) -> bytes:
        return re.sub(rb'"generated":"[^"]*"', b"", page)

    assert undated(as_bytes) == undated(as_text.encode("utf-8"))
    assert 'var e = "é → <\\/Script> <\\!-- ✓";'.encode() in as_bytes
    assert 'var Viz = "ſ <\\/sCRIPT";'.encode() in as_bytes
    assert "Prüfung \\u003cb\\u003e".encode() in as_bytes
