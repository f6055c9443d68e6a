"""The examples in the docstrings run and give what they say."""

import doctest
import importlib

import pytest

MODULES = [
    "_timestamps",
    "discovery",
    "eventlog",
    "filters",
    "performance",
    "result",
    "_log",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"serviceloop.analytics.{name}")
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0
    assert failures == 0
