import os

import pytest

os.environ.setdefault("SERVICELOOP_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "var"))


def _forget_cached_setup() -> None:
    from django.apps import apps

    if apps.ready:
        from serviceloop.cases.intake import intake_cache_clear
        from serviceloop.sla import calendars
        from serviceloop.sla.selectors import setup_forget

        intake_cache_clear()
        setup_forget()
        calendars._cache.clear()


@pytest.fixture(autouse=True)
def _setup_not_cached_across_tests():
    """Intake rules, SLA policies and compiled calendars are cached per process; rows a test (or a
    module-scoped fixture such as the demo) rolled back must not leak into the next test: a
    rollback sends no signal that would clear those caches."""
    _forget_cached_setup()
    yield
    _forget_cached_setup()
