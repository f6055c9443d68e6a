"""Insights look at one process (all its versions) or at all of them."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from serviceloop.insights.forms import InsightsFilterForm
from serviceloop.insights.selectors import LogFilters, event_log
from serviceloop.processes.models import ProcessVersion
from tests.factories import CaseFactory, ServiceProcessFactory, build_process_version
from tests.insights.conftest import DAY0, Log, walk


def _cases(log) -> set[str]:  # type: ignore[no-untyped-def]
    return set(log.to_polars()["case_id"].unique().to_list())


def _retire_and_publish_next(version: ProcessVersion) -> ProcessVersion:
    version.status = "retired"
    version.save()
    return build_process_version(
        process=version.process, analysis_checklist=(), analysis_required=()
    )


def test_the_process_filter_keeps_every_version_of_that_process_only(live_log: Log) -> None:
    complaint = ServiceProcessFactory(code="complaint", name="Complaint process")
    first = build_process_version(process=complaint, analysis_checklist=(), analysis_required=())
    old = CaseFactory(process_version=first, at=DAY0, actor=live_log.manager)
    walk(old, first, live_log.manager, [("analysis", 1)])
    second = _retire_and_publish_next(first)
    new = CaseFactory(process_version=second, at=DAY0, actor=live_log.manager)

    complaints = event_log(LogFilters(process=complaint.pk))
    assert complaints is not None
    assert _cases(complaints) == {old.number, new.number}

    standard = event_log(LogFilters(process=live_log.version.process_id))
    assert standard is not None
    assert not _cases(standard) & {old.number, new.number}
    assert live_log.standard.number in _cases(standard)

    everything = event_log(LogFilters())
    assert everything is not None
    assert _cases(everything) == _cases(standard) | {old.number, new.number}


def test_the_filter_bar_offers_the_processes_and_refuses_an_unknown_one(live_log: Log) -> None:
    form = InsightsFilterForm({"process": str(live_log.version.process_id)})
    assert form.is_valid(), form.errors
    assert form.filters().process == live_log.version.process_id
    assert not InsightsFilterForm({"process": "999999"}).is_valid()

    client = Client()
    client.force_login(live_log.manager)
    url = reverse("insights:process")
    page = client.get(url, {"process": live_log.version.process_id})
    assert page.status_code == 200
    assert "All processes" in page.content.decode()
    assert client.get(url, {"process": "999999"}).status_code == 422
