"""The examples in the docstrings run and give what they say, in every module of the library.

Modules are found by walking the package, so a new module's examples run without being listed.
"""

import doctest
import importlib
import pkgutil

import pytest

import serviceloop.analytics as analytics

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(analytics.__path__, prefix=f"{analytics.__name__}.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failures, _tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0


def test_the_runner_finds_the_examples_of_every_module_that_has_them():
    found = {
        name
        for name in MODULES
        if any(t.examples for t in doctest.DocTestFinder().find(importlib.import_module(name)))
    }
    for expected in ("discovery", "eventlog", "performance", "times", "_json", "result", "_log"):
        assert f"{analytics.__name__}.{expected}" in found
    assert len(MODULES) > len(found) > 10
