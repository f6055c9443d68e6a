"""The process designer: edits of a draft under the import's rules, the pages, who may design."""

from __future__ import annotations

import pytest
from django.test import Client

from serviceloop.core.exceptions import PermissionDeniedError
from serviceloop.processes.choices import TransitionKind, VersionStatus
from serviceloop.processes.exceptions import ProcessDefinitionInvalid, VersionStateError
from serviceloop.processes.models import ProcessVersion, ServiceProcess, Stage, Transition
from serviceloop.processes.services import process_version_new_draft, process_version_publish
from serviceloop.processes.services.designer import (
    MSG_STAGE_TAKEN,
    StageFields,
    process_create,
    process_version_problems,
    stage_create,
    stage_delete,
    stage_move,
    stage_update,
    transition_create,
    transition_update,
)
from tests.factories import (
    AdminFactory,
    AgentFactory,
    ManagerFactory,
    UserFactory,
    build_process_version,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return ManagerFactory()


@pytest.fixture
def draft(manager) -> ProcessVersion:
    return process_create(code="returns", name="Returns", actor=manager)


def _stage(version, manager, code, **kw) -> Stage:
    return stage_create(
        version=version, fields=StageFields(code=code, name=code.title(), **kw), actor=manager
    )


def _small_process(draft, manager) -> tuple[Stage, Stage, Stage]:
    a = _stage(draft, manager, "receive", is_start=True, time_standard_minutes=30)
    b = _stage(draft, manager, "check", checklist=("Photo attached",))
    c = _stage(draft, manager, "done", is_end=True)
    transition_create(version=draft, source=a, target=b, actor=manager)
    transition_create(version=draft, source=b, target=c, actor=manager, label="approved")
    return a, b, c


def test_designed_process_publishes(draft, manager) -> None:
    _small_process(draft, manager)
    assert not process_version_problems(draft)
    published = process_version_publish(version=draft, actor=manager)
    assert published.status == VersionStatus.PUBLISHED
    assert list(published.stages.values_list("code", flat=True)) == ["receive", "check", "done"]


def test_stage_create_refuses_duplicate_code_and_writes_nothing(draft, manager) -> None:
    _stage(draft, manager, "receive", is_start=True)
    with pytest.raises(ProcessDefinitionInvalid) as caught:
        stage_create(version=draft, fields=StageFields(code="receive", name="Other"), actor=manager)
    assert caught.value.extra["fields"]["code"] == [MSG_STAGE_TAKEN % {"field": "code"}]
    assert draft.stages.count() == 1


def test_stage_update_refuses_second_start_stage(draft, manager) -> None:
    _stage(draft, manager, "receive", is_start=True)
    other = _stage(draft, manager, "check")
    with pytest.raises(ProcessDefinitionInvalid) as caught:
        stage_update(
            stage=other,
            fields=StageFields(code="check", name="Check", is_start=True),
            actor=manager,
        )
    assert "is_start" in caught.value.extra["fields"]
    other.refresh_from_db()
    assert other.is_start is False


def test_name_equal_to_other_stage_chinese_name_is_refused(draft, manager) -> None:
    _stage(draft, manager, "receive", is_start=True, name_zh="接收")
    with pytest.raises(ProcessDefinitionInvalid) as caught:
        stage_create(version=draft, fields=StageFields(code="b", name="接收"), actor=manager)
    assert "name" in caught.value.extra["fields"]
    assert draft.stages.count() == 1


def test_transition_to_itself_and_forward_from_end_are_refused(draft, manager) -> None:
    a, _b, c = _small_process(draft, manager)
    with pytest.raises(ProcessDefinitionInvalid):
        transition_create(version=draft, source=a, target=a, actor=manager)
    with pytest.raises(ProcessDefinitionInvalid):
        transition_create(version=draft, source=c, target=a, actor=manager)
    reopen = transition_create(
        version=draft, source=c, target=a, kind=TransitionKind.REWORK, actor=manager
    )
    with pytest.raises(ProcessDefinitionInvalid):
        transition_update(transition=reopen, kind=TransitionKind.FORWARD, label="", actor=manager)
    reopen.refresh_from_db()
    assert reopen.kind == TransitionKind.REWORK
    assert draft.transitions.count() == 3


def test_whole_process_problems_are_placed_beside_their_stage(draft, manager) -> None:
    a = _stage(draft, manager, "receive", is_start=True)
    lonely = _stage(draft, manager, "lonely", is_end=True)
    problems = process_version_problems(draft)
    assert any("unreachable" in p for p in problems.stages[lonely.pk])
    assert any("dead end" in p for p in problems.stages[a.pk])


def test_move_and_delete_keep_a_dense_order(draft, manager) -> None:
    a, b, c = _small_process(draft, manager)
    stage_move(stage=c, offset=-1, actor=manager)
    assert list(draft.stages.order_by("order").values_list("code", flat=True)) == [
        "receive",
        "done",
        "check",
    ]
    stage_delete(stage=b, actor=manager)
    assert list(draft.stages.order_by("order").values_list("order", flat=True)) == [1, 2]
    assert not Transition.objects.filter(version=draft).exclude(source=a).exists()


def test_published_version_cannot_be_edited(draft, manager) -> None:
    a, _b, _c = _small_process(draft, manager)
    process_version_publish(version=draft, actor=manager)
    with pytest.raises(VersionStateError):
        _stage(draft, manager, "late")
    with pytest.raises(VersionStateError):
        stage_delete(stage=a, actor=manager)
    assert draft.stages.count() == 3


@pytest.mark.parametrize("factory", [AgentFactory, UserFactory])
def test_only_managers_design(draft, factory) -> None:
    with pytest.raises(PermissionDeniedError):
        _stage(draft, factory(), "x")
    with pytest.raises(PermissionDeniedError):
        process_create(code="other", name="Other", actor=factory())
    assert not draft.stages.exists()
    assert not ServiceProcess.objects.filter(code="other").exists()


# -- pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "status"),
    [(AgentFactory, 403), (UserFactory, 403), (ManagerFactory, 200), (AdminFactory, 200)],
)
def test_designer_page_is_for_managers(client: Client, draft, factory, status) -> None:
    client.force_login(factory())
    assert client.get(f"/processes/{draft.pk}/design/").status_code == status
    assert client.get(f"/processes/{draft.pk}/publish/confirm/").status_code == status
    response = client.post(
        f"/processes/{draft.pk}/design/stages/",
        {"new-stage-code": "x", "new-stage-name": "X", "new-stage-responsible_role": "agent"},
    )
    assert response.status_code == (403 if status == 403 else 302)
    assert draft.stages.exists() is (status == 200)


def test_agent_cannot_create_a_process(client: Client) -> None:
    client.force_login(AgentFactory())
    response = client.post("/processes/new/", {"new-process-code": "p", "new-process-name": "P"})
    assert response.status_code == 403
    assert not ServiceProcess.objects.exists()


def test_htmx_edit_answers_the_designer_with_the_error_beside_the_field(
    client: Client, draft, manager
) -> None:
    _stage(draft, manager, "receive", is_start=True)
    client.force_login(manager)
    response = client.post(
        f"/processes/{draft.pk}/design/stages/",
        {
            "new-stage-code": "receive",
            "new-stage-name": "Again",
            "new-stage-responsible_role": "agent",
        },
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith('<div id="designer"')
    assert 'class="errorlist"' in body and "already has this code" in body
    assert draft.stages.count() == 1


def test_without_htmx_a_refused_edit_is_a_422_page(client: Client, draft, manager) -> None:
    client.force_login(manager)
    response = client.post(
        f"/processes/{draft.pk}/design/stages/",
        {
            "new-stage-code": "Not a slug!",
            "new-stage-name": "A",
            "new-stage-responsible_role": "agent",
        },
    )
    assert response.status_code == 422
    assert "<html" in response.content.decode()
    assert not draft.stages.exists()


def test_designer_of_published_version_redirects_to_its_page(client: Client, manager) -> None:
    version = build_process_version()
    client.force_login(manager)
    response = client.get(f"/processes/{version.pk}/design/")
    assert response.status_code == 302
    assert response["Location"] == f"/processes/{version.pk}/"


def test_publish_confirmation_and_version_page_show_the_diff(client: Client, manager) -> None:
    live = build_process_version()
    draft = process_version_new_draft(from_version=live, actor=manager)
    delivery = draft.stages.get(code="delivery")
    stage_update(
        stage=delivery,
        fields=StageFields(
            code="delivery",
            name="Delivery",
            name_zh="服务实施",
            responsible_team=delivery.responsible_team,
            time_standard_minutes=120,
            is_start=False,
        ),
        actor=manager,
    )
    _stage(draft, manager, "survey")
    client.force_login(manager)
    body = client.get(f"/processes/{draft.pk}/publish/confirm/").content.decode()
    assert f"Changes from v{live.number}" in body
    assert "+ Survey" in body and "<del>8 h</del> → <ins>2 h</ins>" in body
    assert "cannot be published yet" in body  # the new stage is unreachable
    body = client.get(f"/processes/{draft.pk}/").content.decode()
    assert 'data-testid="version-diff"' in body and "+ Survey" in body


def test_only_managers_make_a_process_the_default(client: Client) -> None:
    version = build_process_version()
    client.force_login(AgentFactory())
    assert client.post(f"/processes/{version.pk}/make-default/").status_code == 403
    version.process.refresh_from_db()
    assert version.process.is_default is False
    client.force_login(ManagerFactory())
    assert client.post(f"/processes/{version.pk}/make-default/").status_code == 302
    version.process.refresh_from_db()
    assert version.process.is_default is True


def test_texts_for_people_show_in_chinese_with_english_keys(client: Client, draft, manager) -> None:
    a = _stage(
        draft,
        manager,
        "receive",
        is_start=True,
        norm="Check the parcel.",
        norm_zh="检查包裹。",
        checklist=("Photo taken",),
        checklist_zh=("已拍照",),
    )
    b = _stage(draft, manager, "done", is_end=True)
    transition_create(
        version=draft, source=a, target=b, label="approved", label_zh="已批准", actor=manager
    )
    client.force_login(manager)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    body = client.get(f"/processes/{draft.pk}/").content.decode()
    assert "检查包裹。" in body and "已拍照" in body and "已批准" in body
    a.refresh_from_db()
    assert a.checklist == ["Photo taken"]  # the stable key stays English


def test_chinese_checklist_needs_one_line_per_item(client: Client, draft, manager) -> None:
    client.force_login(manager)
    response = client.post(
        f"/processes/{draft.pk}/design/stages/",
        {
            "new-stage-code": "a",
            "new-stage-name": "A",
            "new-stage-responsible_role": "agent",
            "new-stage-checklist": "One\nTwo",
            "new-stage-checklist_zh": "一",
        },
    )
    assert response.status_code == 422
    assert "one Chinese line per checklist item (2)" in response.content.decode()
    assert not draft.stages.exists()
