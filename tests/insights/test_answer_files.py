"""Answer files beside the copy stay bounded: beyond the limit the least recently used go."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from serviceloop.insights import answers

pytestmark = pytest.mark.django_db


def _answer(i: int) -> answers.Answer:
    at = ("generation", (i, 0, 0))
    return answers.Answer(None, {"figure": i}, at, dt.datetime.now(dt.UTC))  # type: ignore[arg-type]


def _key(i: int) -> answers.PageKey:
    return ("overview", f"team={i}", "en", "UTC")


def _file(i: int):
    folder, name = answers._answer_path(_key(i))
    return folder / f"{name}.pickle"


def test_the_least_recently_used_answer_files_go_beyond_the_limit(monkeypatch):
    monkeypatch.setattr(answers, "ANSWER_FILES_KEPT", 3)
    for i in range(3):
        answers._answer_write(_key(i), _answer(i))
        used = time.time() - 100 + i  # 0 used first, 2 last
        os.utime(_file(i), (used, used))
    assert answers._answer_read(_key(0)).context == {"figure": 0}  # read: now the most recent
    answers._answer_write(_key(3), _answer(3))
    assert not _file(1).exists()  # the least recently used
    assert [answers._answer_read(_key(i)).context["figure"] for i in (0, 2, 3)] == [0, 2, 3]
    assert len(list(_file(0).parent.glob("*.pickle"))) == 3
