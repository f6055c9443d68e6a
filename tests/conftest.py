import os

import pytest

os.environ.setdefault("SERVICELOOP_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "var"))


@pytest.fixture(autouse=True)
def _intake_rules_not_cached_across_tests():
    """The intake rules are cached per process; a test's rolled-back rules must not leak into the
    next test (its rollback sends no signal that would clear the cache)."""
    yield
    from django.apps import apps

    if apps.ready:
        from serviceloop.cases.intake import intake_cache_clear

        intake_cache_clear()
