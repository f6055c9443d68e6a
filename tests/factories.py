"""Shared test factories for every app (factory_boy).

Users: ``UserFactory`` (a customer login by default), ``AgentFactory(team=, skills=, capacity=,
is_available=)`` (a user with an AgentProfile), ``ManagerFactory``, ``AdminFactory``. Every factory
user has the password ``PASSWORD``.

Process: ``build_process_version()`` builds a small published process
``intake -> analysis -> delivery -> closed`` with a rework edge (delivery -> analysis) and an
escalation edge (intake -> delivery); ``default_process_version()`` returns the published default
version, building that one if none exists. Intake and analysis belong to a front-office team,
delivery to a back-office team; analysis has a checklist item and requires ``category``.

Cases: ``CaseFactory`` opens cases through ``case_create`` so they carry their events and routing.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from factory.django import DjangoModelFactory

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import AgentProfile, Skill, Team, User
from serviceloop.cases.choices import Channel, Priority
from serviceloop.cases.models import Case, Category
from serviceloop.customers.models import Customer, Organisation
from serviceloop.processes.choices import TransitionKind, VersionStatus
from serviceloop.processes.models import ProcessVersion, ServiceProcess, Stage, Transition

__all__ = [
    "CHECKLIST_ITEM",
    "PASSWORD",
    "AdminFactory",
    "AgentFactory",
    "CaseFactory",
    "CategoryFactory",
    "CustomerFactory",
    "ManagerFactory",
    "OrganisationFactory",
    "ServiceProcessFactory",
    "SkillFactory",
    "TeamFactory",
    "UserFactory",
    "build_process_version",
    "default_process_version",
    "stage_of",
]

PASSWORD = "correct-horse-battery-42"
CHECKLIST_ITEM = "Need confirmed with the customer"


@cache
def _password_hash() -> str:
    """Hash once per test run: PBKDF2 per user would dominate the test time."""
    return make_password(PASSWORD)


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())


class SkillFactory(DjangoModelFactory):
    class Meta:
        model = Skill
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"skill-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.CUSTOMER
    password = factory.LazyFunction(_password_hash)
    is_active = True


class ManagerFactory(UserFactory):
    username = factory.Sequence(lambda n: f"manager{n}")
    role = Role.MANAGER


class AdminFactory(UserFactory):
    username = factory.Sequence(lambda n: f"admin{n}")
    role = Role.ADMIN
    is_staff = True
    is_superuser = True


class AgentFactory(UserFactory):
    """An agent user with its AgentProfile: ``AgentFactory(team=t, skills=[s], capacity=3)``."""

    username = factory.Sequence(lambda n: f"agent{n}")
    role = Role.AGENT

    @classmethod
    def _create(
        cls,
        model_class: type[User],
        *args: Any,
        team: Team | None = None,
        skills: tuple[Skill, ...] | list[Skill] = (),
        capacity: int = 10,
        is_available: bool = True,
        **kwargs: Any,
    ) -> User:
        user = super()._create(model_class, *args, **kwargs)
        profile = AgentProfile.objects.create(
            user=user,
            team=team if team is not None else TeamFactory(),
            capacity=capacity,
            is_available=is_available,
        )
        if skills:
            profile.skills.set(skills)
        return user


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Organisation {n}")


class CustomerFactory(DjangoModelFactory):
    """A customer with a portal login (``user``); pass ``user=None`` for an email-only customer."""

    class Meta:
        model = Customer

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    user = factory.SubFactory(
        UserFactory,
        role=Role.CUSTOMER,
        username=factory.Sequence(lambda n: f"customer{n}"),
        email=factory.SelfAttribute("..email"),
    )


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"category-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    skill = None


class ServiceProcessFactory(DjangoModelFactory):
    class Meta:
        model = ServiceProcess

    code = factory.Sequence(lambda n: f"process-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    is_default = False


def build_process_version(
    *,
    process: ServiceProcess | None = None,
    is_default: bool = False,
    status: str = VersionStatus.PUBLISHED,
    front_team: Team | None = None,
    back_team: Team | None = None,
    analysis_checklist: tuple[str, ...] = (CHECKLIST_ITEM,),
    analysis_required: tuple[str, ...] = ("category",),
) -> ProcessVersion:
    """The small test process: Intake -> Needs analysis -> Delivery -> Closed (+ rework, escalation).

    Built as a draft (published versions are immutable), then given ``status``.
    """
    if process is None:
        process = ServiceProcessFactory(is_default=is_default)
    front = front_team if front_team is not None else TeamFactory()
    back = back_team if back_team is not None else TeamFactory()
    number = (
        process.versions.order_by("-number").values_list("number", flat=True).first() or 0
    ) + 1
    version = ProcessVersion.objects.create(
        process=process, number=number, status=VersionStatus.DRAFT
    )
    specs = [
        ("intake", "Intake", "受理", front, 60, [], [], True, False),
        (
            "analysis",
            "Needs analysis",
            "需求分析",
            front,
            240,
            list(analysis_checklist),
            list(analysis_required),
            False,
            False,
        ),
        ("delivery", "Delivery", "服务实施", back, 480, [], [], False, False),
        ("closed", "Closed", "关闭", None, None, [], [], False, True),
    ]
    stages: dict[str, Stage] = {}
    for order, (code, name, name_zh, team, minutes, checklist, required, start, end) in enumerate(
        specs, start=1
    ):
        stages[code] = Stage.objects.create(
            version=version,
            code=code,
            name=name,
            name_zh=name_zh,
            order=order,
            responsible_team=team,
            time_standard_minutes=minutes,
            checklist=checklist,
            required_fields=required,
            is_start=start,
            is_end=end,
        )
    edges = [
        ("intake", "analysis", TransitionKind.FORWARD),
        ("analysis", "delivery", TransitionKind.FORWARD),
        ("delivery", "closed", TransitionKind.FORWARD),
        ("delivery", "analysis", TransitionKind.REWORK),
        ("intake", "delivery", TransitionKind.ESCALATION),
    ]
    for source, target, kind in edges:
        Transition.objects.create(
            version=version, source=stages[source], target=stages[target], kind=kind
        )
    if status != VersionStatus.DRAFT:
        version.status = VersionStatus.PUBLISHED
        version.published_at = timezone.now()
        version.save()
    if status == VersionStatus.RETIRED:
        version.status = VersionStatus.RETIRED
        version.save()
    return version


def default_process_version() -> ProcessVersion:
    """The published version of the default process, built (test process) if there is none."""
    found = (
        ProcessVersion.objects.filter(process__is_default=True, status=VersionStatus.PUBLISHED)
        .order_by("-number")
        .first()
    )
    return found if found is not None else build_process_version(is_default=True)


def stage_of(version: ProcessVersion, code: str) -> Stage:
    return version.stages.select_related("responsible_team").get(code=code)


class CaseFactory(DjangoModelFactory):
    """Opens a case through ``case_create`` (events, number, routing included).

    ``CaseFactory(customer=c, category=cat, process_version=v, actor=u, at=dt)``.
    """

    class Meta:
        model = Case

    customer = factory.SubFactory(CustomerFactory)
    title = factory.Sequence(lambda n: f"Printer on floor {n} does not print")
    description = "It shows a paper jam although there is no paper in it."
    channel = Channel.PORTAL
    priority = Priority.NORMAL
    category = None
    attributes = factory.LazyFunction(dict)
    process_version = factory.LazyFunction(default_process_version)
    actor = None
    at = None

    @classmethod
    def _create(cls, model_class: type[Case], *args: Any, **kwargs: Any) -> Case:
        from serviceloop.cases.services import case_create

        return case_create(**kwargs)
