"""The demo's people: managers, agents in three teams, customers and organisations.

Accounts go through the accounts/customers services (validation included). Hashing one password
per account with Django's PBKDF2 takes ~0.3 s each, so the accounts are created under a fast hasher
and then all given one hash of the shared demo password, made once with the configured hasher.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.test.utils import override_settings

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import Skill, Team, User
from serviceloop.accounts.services import agent_create, user_create
from serviceloop.cases.models import Category
from serviceloop.core.messages import Problem
from serviceloop.customers.models import Customer, Organisation
from serviceloop.customers.services import customer_register
from serviceloop.demo.errors import DemoError
from serviceloop.demo.names import CATEGORIES, chinese_name, english_name, organisation_names

__all__ = [
    "ADMIN_USERNAME",
    "AGENT_USERNAME",
    "CUSTOMER_USERNAME",
    "DEMO_PASSWORD",
    "MANAGER_USERNAME",
    "Cast",
    "DemoCustomer",
    "cast_create",
]

DEMO_PASSWORD = "demo-2024-loop"  # noqa: S105 - published on purpose, printed by `demo`
ADMIN_USERNAME = "admin"
MANAGER_USERNAME = "manager"
AGENT_USERNAME = "agent"
# Domains reserved for examples: demo mail never reaches anyone. Staff and customers apart.
EMAIL_DOMAIN = "example.com"
CUSTOMER_DOMAIN = "example.net"
CUSTOMER_USERNAME = f"customer@{CUSTOMER_DOMAIN}"

# Team sizes: the specialists team is the planted bottleneck (3 people for the design work of
# every case), frontline and field are staffed for their load.
TEAM_SIZES = {"frontline": 7, "specialists": 3, "field": 5}
TEAM_CAPACITY = {"frontline": 25, "specialists": 12, "field": 15}
# The skill each team's stages ask for in the default process (routing falls back to it when a
# case has no category).
TEAM_SKILL = {
    "frontline": "needs-analysis",
    "specialists": "solution-design",
    "field": "on-site-service",
}
SEGMENTS = ("enterprise", "smb", "public-sector", "individual")


@dataclass(frozen=True)
class DemoCustomer:
    customer: Customer
    user: User | None
    lang: str  # "zh" or "en": the language the customer writes in
    weight: float  # how often this customer opens cases


@dataclass
class Cast:
    managers: list[User]
    agents: dict[str, list[User]]  # team code -> agents
    customers: list[DemoCustomer]
    categories: list[Category] = field(default_factory=list)

    @property
    def demo_agent(self) -> User:
        return self.agents["frontline"][0]


@contextmanager
def _fast_hashing() -> Iterator[None]:
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


def _skills_by_code(codes: set[str]) -> dict[str, Skill]:
    found = {skill.code: skill for skill in Skill.objects.filter(code__in=codes)}
    for code in codes - found.keys():
        found[code] = Skill.objects.create(code=code, name=code.replace("-", " ").capitalize())
    return found


def _categories_create(skills: dict[str, Skill]) -> list[Category]:
    out = []
    for spec in CATEGORIES:
        category, _ = Category.objects.update_or_create(
            code=spec.code,
            defaults={"name": spec.name, "name_zh": spec.name_zh, "skill": skills[spec.skill]},
        )
        out.append(category)
    return out


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


def _staff_create(
    rng: random.Random,
    teams: dict[str, Team],
    skills: dict[str, Skill],
    extra_specialists: int,
) -> Cast:
    taken: set[str] = {ADMIN_USERNAME, MANAGER_USERNAME, AGENT_USERNAME}
    managers = [
        user_create(
            username=MANAGER_USERNAME,
            password=DEMO_PASSWORD,
            role=Role.MANAGER,
            email=f"manager@{EMAIL_DOMAIN}",
            first_name="静",
            last_name="陈",
        )
    ]
    full, login = chinese_name(rng)
    managers.append(
        user_create(
            username=_unique(login, taken),
            password=DEMO_PASSWORD,
            role=Role.MANAGER,
            email=f"{login}@{EMAIL_DOMAIN}",
            first_name=full[1:],
            last_name=full[0],
        )
    )
    # Every category skill is covered twice in every team, so routing always finds someone.
    skill_codes = sorted({spec.skill for spec in CATEGORIES})
    agents: dict[str, list[User]] = {team_code: [] for team_code in TEAM_SIZES}
    # The extra specialists come last, so the other staff are the same people with or without them.
    places = [(team_code, i, size) for team_code, size in TEAM_SIZES.items() for i in range(size)]
    size = TEAM_SIZES["specialists"]
    places += [("specialists", size + i, size) for i in range(extra_specialists)]
    for team_code, i, size in places:
        if team_code == "frontline" and i == 0:
            username, first, last = AGENT_USERNAME, "小明", "王"
        else:
            full, login = chinese_name(rng) if rng.random() < 0.8 else english_name(rng)
            username = _unique(login, taken)
            first, _, last = full.partition(" ")
            if not last:  # Chinese: family name first, one character
                first, last = full[1:], full[0]
        own = {skill_codes[(i + k) % len(skill_codes)] for k in range(3 if size <= 3 else 2)}
        own |= set(rng.sample(skill_codes, rng.randint(0, 2))) | {TEAM_SKILL[team_code]}
        profile = agent_create(
            username=username,
            password=DEMO_PASSWORD,
            team=teams[team_code],
            skills=[skills[c] for c in sorted(own)],
            capacity=TEAM_CAPACITY[team_code],
            email=f"{username}@{EMAIL_DOMAIN}",
            first_name=first,
            last_name=last,
        )
        agents[team_code].append(profile.user)
    return Cast(managers=managers, agents=agents, customers=[])


def _customers_create(rng: random.Random, count: int) -> list[DemoCustomer]:
    """``count`` customers; about 40 % have a portal login, the rest write by email or phone."""
    organisations = [
        Organisation.objects.create(name=name)
        for name in organisation_names(rng, max(4, count // 6))
    ]
    taken: set[str] = set()
    out: list[DemoCustomer] = []
    for i in range(count):
        zh = rng.random() < 0.7
        full, login = chinese_name(rng) if zh else english_name(rng)
        email = f"{_unique(login, taken)}@{CUSTOMER_DOMAIN}" if i else CUSTOMER_USERNAME
        org = rng.choice(organisations) if rng.random() < 0.75 else None
        if i == 0 or rng.random() < 0.4:
            customer = customer_register(name=full, email=email, password=DEMO_PASSWORD)
            user = customer.user
        else:
            customer = Customer.objects.create(name=full, email=email)
            user = None
        customer.organisation = org
        customer.phone = (
            f"+86 1{rng.randint(30, 89)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        )
        customer.segment = rng.choice(SEGMENTS[:3]) if org is not None else SEGMENTS[3]
        customer.save(update_fields=["organisation", "phone", "segment"])
        # A few busy customers (a heavy tail), the demo customer among them.
        weight = 6.0 if i == 0 else rng.paretovariate(2.0)
        out.append(
            DemoCustomer(customer=customer, user=user, lang="zh" if zh else "en", weight=weight)
        )
    return out


def cast_create(
    rng: random.Random,
    *,
    customers: int,
    extra_specialists: int = 0,
    customer_rng: random.Random | None = None,
) -> Cast:
    """Create categories, staff and customers; teams and skills come from the default process.

    ``extra_specialists`` adds people to the understaffed specialists team; customers are drawn
    from ``customer_rng`` (default: ``rng``), so they can be the same whatever the staff.
    The admin is not made here: the loader creates it last, as the mark of a complete load.
    """
    teams = {team.code: team for team in Team.objects.filter(code__in=TEAM_SIZES)}
    missing = sorted(TEAM_SIZES.keys() - teams.keys())
    if missing:
        raise DemoError(Problem("demo_teams_missing", {"teams": missing}))
    skills = _skills_by_code({spec.skill for spec in CATEGORIES} | set(TEAM_SKILL.values()))
    with _fast_hashing():
        cast = _staff_create(rng, teams, skills, extra_specialists)
        cast.customers = _customers_create(customer_rng or rng, customers)
    cast.categories = _categories_create(skills)
    user_ids = [u.pk for u in cast.managers]
    user_ids += [u.pk for members in cast.agents.values() for u in members]
    user_ids += [c.user.pk for c in cast.customers if c.user is not None]
    User.objects.filter(pk__in=user_ids).update(password=make_password(DEMO_PASSWORD))
    return cast
