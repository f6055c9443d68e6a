import os
from pathlib import Path

import pytest

os.environ.setdefault("SERVICELOOP_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "var"))


@pytest.fixture(scope="session")
def helpdesk():
    """The real help-desk log (tests/data/helpdesk_full.csv), read once per session."""
    from serviceloop.analytics import read_csv

    return read_csv(
        Path(__file__).parent / "data" / "helpdesk_full.csv",
        case="Case ID",
        activity="Activity",
        timestamp="Complete Timestamp",
        resource="Resource",
        duplicates="keep",
    )


def _reset_process_state() -> None:
    from django.apps import apps

    if apps.ready:
        from django.core.cache import cache
        from django.utils import translation

        from serviceloop.cases.intake import intake_cache_clear
        from serviceloop.sla import calendars
        from serviceloop.sla.selectors import setup_forget

        intake_cache_clear()
        setup_forget()
        calendars._cache.clear()
        cache.clear()  # rate-limit counters: an earlier test's failed sign-ins from the address
        translation.deactivate()  # a request's LocaleMiddleware leaves its language active


@pytest.fixture(autouse=True)
def _each_test_starts_fresh():
    """Intake rules, SLA policies and compiled calendars are cached per process; rows a test (or a
    module-scoped fixture such as the demo) rolled back must not leak into the next test: a
    rollback sends no signal that would clear those caches. Each test also starts in the default
    language, whatever language the previous test's last request activated."""
    _reset_process_state()
    yield
    _reset_process_state()


@pytest.fixture(autouse=True)
def _own_insights_log(request, tmp_path_factory):
    """Each test keeps Insights' columnar copy of the log in a folder of its own: the database is
    rolled back between tests, the copy on disk would not be."""
    from django.conf import settings

    if settings.configured:
        name = f"{abs(hash(request.node.nodeid)):x}"
        settings.INSIGHTS_LOG_DIR = str(tmp_path_factory.getbasetemp() / "insights-log" / name)


_LOST_GROUP = pytest.StashKey[str]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """``--dist loadgroup`` keeps each ``xdist_group`` (a module loading the demo once) on one
    worker by adding the group to the test's id. Where the installed pytest and pytest-xdist do
    not agree on ids, the group is dropped without a word and each worker loads the demo again,
    minutes more per run: such tests fail instead, saying why."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
            item.stash[_LOST_GROUP] = (
                "--dist loadgroup lost this test's xdist_group: the installed pytest-xdist "
                "does not support the installed pytest's test ids (see pyproject.toml)"
            )


def pytest_runtest_setup(item):
    if lost := item.stash.get(_LOST_GROUP, None):
        pytest.fail(lost, pytrace=False)
