"""The one table of refusal messages: every code is translated, placeholders agree, problems render
in the active language, and the cases app raises only coded problems."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from django.utils import translation

from serviceloop.core.exceptions import ConflictError, InvalidInputError
from serviceloop.core.messages import MESSAGES, Named, Problem, render_fields

SRC = Path(__file__).resolve().parents[2] / "src" / "serviceloop"


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_code_has_a_chinese_message_with_the_same_placeholders(code):
    english = MESSAGES[code]
    with translation.override("zh-hans"):
        chinese = translation.gettext(english)
    assert chinese != english, f"{code}: no zh-hans translation (run makemessages, translate)"
    assert _placeholders(chinese) == _placeholders(english)


def test_problem_renders_in_the_active_language_and_names_things_there():
    stage = Named(code="design", name="Solution design", name_zh="方案设计")
    problem = Problem("guards_failed", {"stage": stage})
    assert problem.render("en") == "The case cannot leave stage “Solution design” yet."
    with translation.override("zh-hans"):
        assert str(problem) == "工单暂时不能离开阶段“方案设计”。"
    assert problem.as_json() == {"code": "guards_failed", "params": {"stage": "design"}}


def test_unknown_code_is_refused_at_once():
    with pytest.raises(KeyError, match="no_such_code"):
        Problem("no_such_code")


def test_errors_keep_code_params_and_field_problems():
    error = InvalidInputError(
        Problem("case_invalid"), fields={"title": [Problem("title_too_long", {"max": 200})]}
    )
    assert error.code == "case_invalid" and error.status_code == 422
    assert error.field_codes() == {"title": ["title_too_long"]}
    assert str(error) == "The case is not valid."
    with translation.override("zh-hans"):
        assert render_fields(error.fields) == {"title": ["标题最多 200 个字符。"]}


def test_a_finished_sentence_keeps_its_class_code():
    error = ConflictError("Something else went wrong.")
    assert (error.code, error.message) == ("conflict", "Something else went wrong.")


_DOMAIN_ERRORS = {
    "ApplicationError",
    "ConflictError",
    "GuardFailedError",
    "InvalidInputError",
    "PermissionDeniedError",
    "StaleVersionError",
    "TransitionNotAllowedError",
}


def _raised_literals(path: Path) -> list[str]:
    """``raise SomeError("literal ...")`` in a module: a sentence instead of a code."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            name = getattr(func, "id", getattr(func, "attr", ""))
            args = [*node.exc.args, *(k.value for k in node.exc.keywords)]
            if name == "for_field" and isinstance(func, ast.Attribute):
                name, args = getattr(func.value, "id", ""), args[1:]  # (field, problem)
            if name not in _DOMAIN_ERRORS:
                continue
            if any(isinstance(a, ast.Constant | ast.JoinedStr) for a in args[:2]):
                found.append(f"{path.name}:{node.lineno}")
    return found


def test_the_cases_app_raises_coded_problems_only():
    modules = [*sorted((SRC / "cases" / "services").glob("*.py"))]
    modules += [SRC / "cases" / f for f in ("selectors.py", "routing.py", "api.py")]
    modules += [SRC / "customers" / "services.py"]
    offenders = [spot for path in modules for spot in _raised_literals(path)]
    assert offenders == []


def test_no_code_translates_service_messages_by_parsing_them():
    pattern = re.compile(r"translate_service_message|_messages import")
    hits = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert hits == []
