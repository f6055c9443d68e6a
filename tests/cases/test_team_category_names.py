"""Teams and categories have Chinese names: a zh-hans reader sees them on every page and in every
filter, an English reader the English ones, and the API and exports keep the stable codes."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from serviceloop.accounts.models import Team
from serviceloop.cases.models import Category
from serviceloop.core.messages import Named, Problem
from serviceloop.insights.forms import InsightsFilterForm
from serviceloop.processes.services.shipped import process_shipped_install
from tests.cases.api_client import Api
from tests.cases.conftest import World
from tests.factories import CaseFactory, CategoryFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def named(world: World) -> Category:
    Team.objects.filter(pk=world.front.pk).update(name="Front desk", name_zh="前台服务组")
    return CategoryFactory(code="billing", name="Billing", name_zh="账单问题")


def _client(user: object, language: str) -> Client:
    client = Client()
    client.cookies["django_language"] = language
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_workspace_case_page_and_queue_show_chinese_names(world: World, named: Category) -> None:
    case = CaseFactory(category=named)
    assert case.team_id == world.front.pk
    client = _client(world.manager, "zh-hans")
    detail = client.get(reverse("workspace:case-detail", args=[case.number])).content.decode()
    assert "前台服务组" in detail and "账单问题" in detail
    assert "Front desk" not in detail
    queue = client.get(reverse("workspace:queue"), {"queue": "all"}).content.decode()
    assert "前台服务组" in queue and "账单问题" in queue  # rows and the filter choices


def test_english_readers_see_the_english_names(world: World, named: Category) -> None:
    case = CaseFactory(category=named)
    client = _client(world.manager, "en")
    detail = client.get(reverse("workspace:case-detail", args=[case.number])).content.decode()
    assert "Front desk" in detail and "Billing" in detail
    assert "前台服务组" not in detail and "账单问题" not in detail


def test_portal_shows_the_category_in_chinese(world: World, named: Category) -> None:
    customer = CustomerFactory()
    case = CaseFactory(customer=customer, actor=customer.user, category=named)
    client = _client(customer.user, "zh-hans")
    page = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert "账单问题" in page


def test_insights_filter_choices_are_named_in_the_readers_language(
    world: World, named: Category
) -> None:
    with translation.override("zh-hans"):
        form = InsightsFilterForm()
        teams = dict(form.fields["team"].choices)  # type: ignore[attr-defined]
        categories = dict(form.fields["category"].choices)  # type: ignore[attr-defined]
    assert teams[world.front.pk] == "前台服务组"  # the value stays the team's id
    assert categories[named.pk] == "账单问题"
    with translation.override("en"):
        assert dict(InsightsFilterForm().fields["team"].choices)[world.front.pk] == "Front desk"  # type: ignore[attr-defined]


def test_messages_name_teams_in_the_readers_language_and_send_codes(
    world: World, named: Category
) -> None:
    team = Team.objects.get(pk=world.front.pk)
    problem = Problem("bad_choice", {"value": Named.of(team), "choices": Named.of(named)})
    assert "前台服务组" in problem.render("zh-hans") and "账单问题" in problem.render("zh-hans")
    assert problem.as_json()["params"] == {"value": team.code, "choices": "billing"}


def test_the_api_keeps_the_codes(world: World, named: Category) -> None:
    case = CaseFactory(category=named)
    body = Api(world.manager).get(f"/api/cases/{case.number}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    data = body.json()
    assert (data["team"], data["category"]) == (world.front.code, "billing")


def test_the_shipped_teams_get_chinese_names_and_keep_an_admins(db: None) -> None:
    Team.objects.create(code="field", name="Field", name_zh="外勤组")
    process_shipped_install()
    names = dict(Team.objects.values_list("code", "name_zh"))
    assert names["frontline"] == "一线服务组" and names["specialists"] == "专家组"
    assert names["field"] == "外勤组"
