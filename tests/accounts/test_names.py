"""A person's name is written in the order of its language, the username when no name is set."""

from __future__ import annotations

import pytest

from serviceloop.accounts.models import User
from serviceloop.accounts.names import person_name
from serviceloop.cases.templatetags.case_ui import person


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("静", "陈", "陈静"),  # Chinese: family name first, unspaced
        ("Jing", "陈", "陈Jing"),
        ("Ada", "Lovelace", "Ada Lovelace"),
        ("Ada", "", "Ada"),
        ("", "Lovelace", "Lovelace"),
        ("  ", "", "ada"),  # blank names fall back to the username
        ("", "", "ada"),
        (None, None, "ada"),
    ],
)
def test_person_name(first, last, expected):
    assert person_name(first, last, "ada") == expected


def test_the_template_filter_writes_the_same_name():
    user = User(username="chen", first_name="静", last_name="陈")
    assert person(user) == person_name("静", "陈", "chen") == "陈静"
    assert person(None) == ""
