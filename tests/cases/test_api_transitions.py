"""Transitions, assignment and checklist through the API: 200, 409 (not allowed, stale), 422."""

from __future__ import annotations

import pytest

from serviceloop.cases.choices import EventKind
from serviceloop.cases.models import CaseEvent
from tests.cases.api_client import Api
from tests.cases.helpers import snapshot
from tests.factories import CHECKLIST_ITEM, CaseFactory, CategoryFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(world):
    return CaseFactory(customer=CustomerFactory())


def move(api: Api, case, to_stage: str, **extra):
    return api.post(f"/api/cases/{case.number}/transitions", {"to_stage": to_stage, **extra})


def test_transitions_list_shows_targets_from_current_stage(world, case):
    response = Api(world.front_agent).get(f"/api/cases/{case.number}/transitions")
    assert response.status_code == 200
    targets = {t["to_stage"]: t for t in response.json()}
    assert set(targets) == {"analysis", "delivery"}
    assert targets["delivery"]["kind"] == "escalation"
    assert targets["analysis"]["blocked_by"] == {}


def test_transition_moves_case_and_appends_one_event(world, case):
    before = CaseEvent.objects.filter(case=case).count()
    response = move(Api(world.front_agent), case, "analysis", expected_version=case.version)
    assert response.status_code == 200, response.json()
    assert response.json()["stage"]["code"] == "analysis"
    assert response.json()["version"] == case.version + 1
    events = CaseEvent.objects.filter(case=case).order_by("id")
    assert events.count() == before + 1
    assert events.last().kind == EventKind.STAGE_ENTERED


def test_transition_out_of_sight_still_answers_200(world, case):
    """intake -> delivery hands the case to the back office; the front agent may no longer see
    it, but the move happened and the answer says so."""
    response = move(Api(world.front_agent), case, "delivery")
    assert response.status_code == 200, response.json()
    assert response.json()["team"] == world.back.code
    assert Api(world.front_agent).get(f"/api/cases/{case.number}").status_code == 404


def test_disallowed_transition_is_409_and_changes_nothing(world, case):
    before = snapshot(case)
    response = move(Api(world.front_agent), case, "closed")
    assert response.status_code == 409
    assert "No transition" in response.json()["detail"]
    assert snapshot(case) == before


def test_refusal_carries_code_and_names_stages_in_the_clients_language(world, case):
    path = f"/api/cases/{case.number}/transitions"
    response = Api(world.front_agent).post(path, {"to_stage": "closed"}, Accept_Language="zh-hans")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "transition_not_allowed"
    assert body["params"] == {"source": "intake", "target": "closed"}
    assert body["detail"] == "此流程版本中没有从“受理”到“关闭”的流转。"
    english = move(Api(world.front_agent), case, "closed").json()["detail"]
    assert english == "No transition leads from “Intake” to “Closed” in this process version."


def test_guard_refusal_lists_field_problems_in_the_clients_language(world, case):
    assert move(Api(world.front_agent), case, "analysis").status_code == 200
    path = f"/api/cases/{case.number}/transitions"
    response = Api(world.front_agent).post(
        path, {"to_stage": "delivery"}, Accept_Language="zh-hans"
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "guards_failed"
    assert body["detail"] == "工单暂时不能离开阶段“需求分析”。"
    assert body["fields"]["checklist"] == [f"请先勾选“{CHECKLIST_ITEM}”。"]


def test_stale_expected_version_is_409(world, case):
    before = snapshot(case)
    response = move(Api(world.front_agent), case, "analysis", expected_version=case.version - 1)
    assert response.status_code == 409
    assert snapshot(case) == before


def test_unknown_stage_code_is_422_field_error(world, case):
    response = move(Api(world.front_agent), case, "nowhere")
    assert response.status_code == 422
    assert "to_stage" in response.json()["fields"]


def test_guards_fail_with_422_and_reasons_then_pass_after_checklist(world, case):
    api = Api(world.front_agent)
    assert move(api, case, "analysis").status_code == 200
    listed = api.get(f"/api/cases/{case.number}/transitions").json()
    assert {t["to_stage"] for t in listed} == {"delivery"}
    assert set(listed[0]["blocked_by"]) == {"checklist", "category"}

    before = snapshot(case)
    refused = move(api, case, "delivery")
    assert refused.status_code == 422
    assert set(refused.json()["fields"]) == {"checklist", "category"}
    assert snapshot(case) == before

    ticked = api.post(f"/api/cases/{case.number}/checklist", {"item": CHECKLIST_ITEM})
    assert ticked.status_code == 200, ticked.json()
    assert ticked.json()["checklist_done"] == [CHECKLIST_ITEM]
    category = CategoryFactory()
    assert api.patch(f"/api/cases/{case.number}", {"category": category.code}).status_code == 200
    assert move(api, case, "delivery").status_code == 200


def test_unknown_checklist_item_is_422(world, case):
    response = Api(world.front_agent).post(
        f"/api/cases/{case.number}/checklist", {"item": "Not on the list"}
    )
    assert response.status_code == 422
    assert "item" in response.json()["fields"]


def test_customer_may_not_move_or_see_transitions_of_own_case(world, case):
    api = Api(case.customer.user)
    assert api.get(f"/api/cases/{case.number}/transitions").status_code == 403
    before = snapshot(case)
    assert move(api, case, "analysis").status_code == 403
    assert snapshot(case) == before


def test_manager_reassigns_and_unknown_user_is_422(world, case):
    api = Api(world.manager)
    response = api.post(f"/api/cases/{case.number}/assign", {"assignee": world.back_agent.username})
    assert response.status_code == 200, response.json()
    assert response.json()["assignee"] == world.back_agent.username
    assert response.json()["team"] == world.back.code
    missing = api.post(f"/api/cases/{case.number}/assign", {"assignee": "ghost"})
    assert missing.status_code == 422
    assert "assignee" in missing.json()["fields"]


def test_agent_cannot_assign_case_to_someone_else(world, case):
    before = snapshot(case)
    response = Api(world.front_agent).post(
        f"/api/cases/{case.number}/assign", {"assignee": world.back_agent.username}
    )
    assert response.status_code == 403
    assert snapshot(case) == before


@pytest.mark.parametrize("username", ["ghost", "agent-that-exists"])
def test_customer_cannot_assign_nor_probe_usernames(world, case, username):
    if username == "agent-that-exists":
        username = world.front_agent.username
    before = snapshot(case)
    response = Api(case.customer.user).post(
        f"/api/cases/{case.number}/assign", {"assignee": username}
    )
    assert response.status_code == 403
    assert snapshot(case) == before
