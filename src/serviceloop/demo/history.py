"""Replay 90 days of a service operation through the real case services.

A discrete-event replay: a heap of (time, action) steps, run in time order. Each step calls the same
services the product uses (``case_create``, ``case_assign``, ``message_add``, ``case_check_item``,
``case_transition``, ...) with ``at=`` set to the simulated instant, so the event log is exactly
what real work writes. Nothing here writes a case or an event row itself.

Per stage visit: the case waits until someone of the stage's team picks it up (``wait``), then the
work takes ``work`` working hours, ending with the checklist ticked and a transition. The
Confirmation stage waits on the customer instead. Steps that would happen after ``end`` are left
undone, so the cases in flight at the end stay open, pending or resolved where they are.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from serviceloop.accounts.models import User
from serviceloop.cases.choices import CaseStatus, Channel, MessageKind, Priority
from serviceloop.cases.models import Case
from serviceloop.cases.services import (
    case_assign,
    case_check_item,
    case_create,
    case_escalate,
    case_reopen,
    case_set_status,
    case_transition,
    case_update,
    message_add,
)
from serviceloop.demo.clock import Shift, arrivals_for_day
from serviceloop.demo.errors import DemoError
from serviceloop.demo.model import (
    BOTTLENECK_STAGE,
    PRIORITY_SPEED,
    STAGES,
    lognormal,
    weighted_choice,
)
from serviceloop.demo.names import CATEGORIES
from serviceloop.demo.people import Cast, DemoCustomer
from serviceloop.demo.texts import say
from serviceloop.processes.choices import TransitionKind
from serviceloop.processes.models import ProcessVersion, Stage

__all__ = ["ProcessMap", "Replay"]

ALL_DAYS = frozenset(range(7))
PRIORITIES = [
    (Priority.LOW, 0.15),
    (Priority.NORMAL, 0.6),
    (Priority.HIGH, 0.2),
    (Priority.URGENT, 0.05),
]
REGIONS = [("华东 East", 0.4), ("华北 North", 0.25), ("华南 South", 0.2), ("西部 West", 0.15)]
ESCALATE_AFTER_HOURS = 40.0  # working hours waiting for Solution design before a manager steps in
MAX_REWORK = 2
END_MARGIN = timedelta(minutes=1)
# Urgent and high-priority cases sometimes skip confirmation along the escalation edges.
ESCALATION_SHARE: dict[tuple[str, str], float] = {
    ("Intake", Priority.URGENT): 0.5,
    ("Needs analysis", Priority.URGENT): 0.3,
    ("Needs analysis", Priority.HIGH): 0.08,
}
REOPEN_SHARE = 0.03
SECOND_ROUND_SHARE = 0.15  # confirmations where the customer asks for a change first
FOLLOWUP_SILENT_SHARE = 0.3  # customers who never answer the follow-up


@dataclass(frozen=True)
class ProcessMap:
    """The published version's stages by English name and its allowed edges."""

    version: ProcessVersion
    stages: dict[str, Stage]
    forward: dict[str, str]  # stage name -> the next stage on the main path
    edges: dict[tuple[str, str], str]  # (source, target) -> transition kind

    @classmethod
    def of(cls, version: ProcessVersion) -> ProcessMap:
        stages = {
            s.name: s for s in version.stages.select_related("responsible_team").order_by("order")
        }
        edges: dict[tuple[str, str], str] = {}
        forward: dict[str, str] = {}
        for t in version.transitions.select_related("source", "target").order_by("pk"):
            edges[(t.source.name, t.target.name)] = t.kind
            if t.kind == TransitionKind.FORWARD and t.target.order > t.source.order:
                best = forward.get(t.source.name)
                if best is None or stages[best].order > t.target.order:
                    forward[t.source.name] = t.target.name
        missing = [name for name in STAGES if name not in stages]
        if missing:
            raise DemoError(f"The default process has no stages named {missing}.")
        for source, target in (("Delivery", BOTTLENECK_STAGE), ("Follow-up", "Delivery")):
            if (source, target) not in edges:
                raise DemoError(f"The default process has no edge {source} -> {target}.")
        return cls(version=version, stages=stages, forward=forward, edges=edges)


@dataclass
class CaseRun:
    """A case in flight and what the replay remembers about it."""

    case: Case
    who: DemoCustomer
    speed: float
    last: datetime
    reworks: int = 0
    escalated: bool = False
    force_next: str | None = None
    confirm_rounds: int = 0
    visit: int = 0  # bumped on every stage entry; stale scheduled steps check it

    @property
    def stage(self) -> Stage:
        return self.case.stage

    def tick(self, at: datetime) -> datetime:
        """A strictly later instant than the case's last event, at or after ``at``."""
        self.last = max(at, self.last + timedelta(seconds=1))
        return self.last


@dataclass
class Counters:
    cases: int = 0
    closed: int = 0
    reworks: int = 0
    escalations: int = 0
    reopened: int = 0
    messages: int = 0


@dataclass
class Replay:
    rng: random.Random
    cast: Cast
    process: ProcessMap
    tz: tzinfo
    end: datetime
    per_weekday: float
    counters: Counters = field(default_factory=Counters)
    _heap: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = field(
        default_factory=list
    )
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.users: dict[int, User] = {}
        for user in self.cast.managers:
            self.users[user.pk] = user
        for members in self.cast.agents.values():
            for user in members:
                self.users[user.pk] = user
        self.shifts = {
            "frontline": Shift(self.tz, time(8, 0), time(20, 0), ALL_DAYS),
            "specialists": Shift(self.tz),
            "field": Shift(self.tz),
        }
        self.awake = Shift(self.tz, time(8, 0), time(22, 0), ALL_DAYS)  # when customers answer
        self.categories = {c.code: c for c in self.cast.categories}
        self.category_weights = [(spec, spec.weight) for spec in CATEGORIES]
        self.customer_weights = [(c, c.weight) for c in self.cast.customers]
        self.agent_skills = {
            user.pk: set(user.agent_profile.skills.values_list("code", flat=True))
            for members in self.cast.agents.values()
            for user in members
        }

    # --- scheduling ------------------------------------------------------------------------

    def schedule(self, at: datetime, step: Callable[..., None], *args: Any) -> None:
        """Run ``step(at, *args)`` at ``at``; steps after the end of history never happen.

        A step's service calls are spaced a second apart (``CaseRun.tick``), so steps stop a
        minute before the end: no event is ever later than ``end``.
        """
        if at <= self.end - END_MARGIN:
            heapq.heappush(self._heap, (at, next(self._seq), step, args))

    def arrivals(self, day_start: datetime, trend: float) -> None:
        for at in arrivals_for_day(
            self.rng, day_start=day_start, per_weekday=self.per_weekday, trend=trend
        ):
            self.schedule(at, self._create)

    def run_until(self, limit: datetime) -> None:
        """Run every scheduled step before ``limit`` (steps may schedule more)."""
        while self._heap and self._heap[0][0] < limit:
            at, _, step, args = heapq.heappop(self._heap)
            step(at, *args)

    # --- helpers ---------------------------------------------------------------------------

    def _team_of(self, stage: Stage) -> str:
        team = stage.responsible_team
        return team.code if team is not None else "frontline"

    def _shift(self, stage: Stage) -> Shift:
        return self.shifts.get(self._team_of(stage), self.shifts["field"])

    def _actor(self, run: CaseRun) -> User:
        """Whoever works the case now: its assignee, else a manager."""
        assignee_id = run.case.assignee_id
        if assignee_id is not None and assignee_id in self.users:
            return self.users[assignee_id]
        return self.cast.managers[0]

    def _message(
        self, run: CaseRun, at: datetime, what: str, *, staff: bool, note: bool = False
    ) -> None:
        lang = run.who.lang
        if staff:
            author: User | None = self._actor(run)
            kind = MessageKind.INTERNAL if note else MessageKind.PUBLIC
            channel = Channel.AGENT
        else:
            author = run.who.user
            kind = MessageKind.PUBLIC
            channel = Channel.PORTAL if author is not None else Channel.EMAIL
        message_add(
            case=run.case,
            author=author,
            body=say(self.rng, what, lang),
            kind=kind,
            channel=channel,
            at=run.tick(at),
        )
        self.counters.messages += 1

    def _refresh(self, run: CaseRun, case: Case) -> None:
        run.case = case

    # --- steps -----------------------------------------------------------------------------

    def _create(self, at: datetime) -> None:
        rng = self.rng
        who: DemoCustomer = weighted_choice(rng, self.customer_weights)
        spec = weighted_choice(rng, self.category_weights)
        priority = weighted_choice(rng, PRIORITIES)
        if spec.code == "complaint" and priority in (Priority.LOW, Priority.NORMAL):
            priority = Priority.HIGH if rng.random() < 0.5 else priority
        channels = [(Channel.EMAIL, 0.3), (Channel.PHONE, 0.25), (Channel.API, 0.08)]
        if who.user is not None:
            channels.append((Channel.PORTAL, 0.9))
        channel = weighted_choice(rng, channels)
        if channel == Channel.PORTAL:
            actor: User | None = who.user
        elif channel == Channel.PHONE:
            actor = rng.choice(self.cast.agents["frontline"])
        else:
            actor = None  # email and API intake: the system
        title = rng.choice(spec.titles)
        case = case_create(
            actor=actor,
            customer=who.customer,
            title=title,
            description=say(rng, "description", who.lang, title=title),
            channel=channel,
            category=self.categories[spec.code],
            priority=priority,
            attributes={
                "region": weighted_choice(rng, REGIONS),
                "contract": rng.choice(["SLA-Gold", "SLA-Silver", "Standard"]),
            },
            process_version=self.process.version,
            at=at,
        )
        self.counters.cases += 1
        run = CaseRun(case=case, who=who, speed=PRIORITY_SPEED[priority], last=at)
        self._entered(run, at)

    def _entered(self, run: CaseRun, at: datetime) -> None:
        """Plan the visit of the stage the case just entered."""
        run.visit += 1
        stage = run.stage
        if stage.is_end:
            self.counters.closed += 1
            if self.rng.random() < REOPEN_SHARE:
                self.schedule(
                    self.shifts["frontline"].add(at, self.rng.uniform(8, 60)), self._reopen, run
                )
            return
        model = STAGES[stage.name]
        shift = self._shift(stage)
        if model.customer_stage:
            wait = lognormal(self.rng, 0.5, 0.6)  # the agent sends the proposal
        else:
            wait = lognormal(self.rng, *model.wait) * run.speed
        self.schedule(shift.add(at, wait), self._pickup, run, run.visit)
        if stage.name == BOTTLENECK_STAGE and wait > ESCALATE_AFTER_HOURS and not run.escalated:
            self.schedule(shift.add(at, ESCALATE_AFTER_HOURS * 0.8), self._escalate, run, run.visit)

    def _pickup(self, at: datetime, run: CaseRun, visit: int) -> None:
        if visit != run.visit:
            return
        stage = run.stage
        team = self._team_of(stage)
        if run.case.assignee_id is None:
            category = run.case.category
            skill = category.skill.code if category is not None and category.skill else None
            members = self.cast.agents[team]
            able = [u for u in members if skill is None or skill in self.agent_skills[u.pk]]
            agent = self.rng.choice(able or members)
            self._refresh(
                run, case_assign(case=run.case, assignee=agent, actor=agent, at=run.tick(at))
            )
        model = STAGES[stage.name]
        shift = self._shift(stage)
        name = stage.name
        if name == "Needs analysis":
            if run.case.channel != "phone":  # phoned-in needs were acknowledged on the call
                self._message(run, at, "ack", staff=True)
            if self.rng.random() < 0.3:
                self.schedule(at + timedelta(minutes=20), self._note, run, run.visit)
        elif name == "Confirmation":
            self._propose(at, run, "proposal")
            return
        elif name == BOTTLENECK_STAGE and self.rng.random() < 0.4:
            self._message(run, at, "design_note", staff=True, note=True)
        elif name == "Follow-up":
            self._refresh(
                run,
                case_set_status(
                    case=run.case,
                    actor=self._actor(run),
                    status=CaseStatus.RESOLVED,
                    at=run.tick(at),
                ),
            )
            self._message(run, at, "followup", staff=True)
            roll = self.rng.random()
            bad_share = dict(model.rework).get("Delivery", 0.0)
            if run.reworks < MAX_REWORK and roll < bad_share:
                answer = self.awake.next_open(at + timedelta(hours=lognormal(self.rng, 6, 0.8)))
                self.schedule(answer, self._followup_answer, run, run.visit, False)
            elif roll < 1 - FOLLOWUP_SILENT_SHARE:
                answer = self.awake.next_open(at + timedelta(hours=lognormal(self.rng, 6, 0.8)))
                self.schedule(answer, self._followup_answer, run, run.visit, True)
            else:
                self.schedule(shift.add(at, 16), self._finish, run, run.visit)
            return
        work = lognormal(self.rng, *model.work)
        self.schedule(shift.add(at, work), self._finish, run, run.visit)

    def _note(self, at: datetime, run: CaseRun, visit: int) -> None:
        if visit == run.visit:
            self._message(run, at, "analysis_note", staff=True, note=True)

    def _propose(self, at: datetime, run: CaseRun, what: str) -> None:
        self._message(run, at, what, staff=True)
        self._refresh(
            run,
            case_set_status(
                case=run.case, actor=self._actor(run), status=CaseStatus.PENDING, at=run.tick(at)
            ),
        )
        run.confirm_rounds += 1
        model = STAGES["Confirmation"]
        answer = self.awake.next_open(at + timedelta(hours=lognormal(self.rng, *model.wait)))
        self.schedule(answer, self._confirmation_answer, run, run.visit)

    def _confirmation_answer(self, at: datetime, run: CaseRun, visit: int) -> None:
        if visit != run.visit:
            return
        shift = self._shift(run.stage)
        if run.confirm_rounds == 1 and self.rng.random() < SECOND_ROUND_SHARE:
            self._message(run, at, "change_request", staff=False)
            self.schedule(
                shift.add(at, lognormal(self.rng, 2.0, 0.6)), self._revise, run, run.visit
            )
            return
        self._message(run, at, "confirm", staff=False)
        work = lognormal(self.rng, *STAGES["Confirmation"].work)
        self.schedule(shift.add(at, work), self._finish, run, run.visit)

    def _revise(self, at: datetime, run: CaseRun, visit: int) -> None:
        if visit == run.visit:
            self._propose(at, run, "revised")

    def _followup_answer(self, at: datetime, run: CaseRun, visit: int, happy: bool) -> None:
        if visit != run.visit:
            return
        self._message(run, at, "followup_ok" if happy else "followup_bad", staff=False)
        if not happy:
            run.force_next = "Delivery"
        shift = self._shift(run.stage)
        self.schedule(
            shift.add(at, lognormal(self.rng, *STAGES["Follow-up"].work)), self._finish, run, visit
        )

    def _escalate(self, at: datetime, run: CaseRun, visit: int) -> None:
        if visit != run.visit or run.case.status == CaseStatus.CLOSED:
            return
        manager = self.cast.managers[-1]
        run.escalated = True
        self._refresh(
            run,
            case_escalate(
                case=run.case,
                actor=manager,
                reason=say(self.rng, "escalation", run.who.lang),
                at=run.tick(at),
            ),
        )
        if run.case.priority in (Priority.LOW, Priority.NORMAL):
            self._refresh(
                run,
                case_update(
                    case=run.case,
                    actor=manager,
                    changes={"priority": Priority.HIGH},
                    at=run.tick(at),
                ),
            )
            run.speed = PRIORITY_SPEED[Priority.HIGH]
        self.counters.escalations += 1

    def _next_stage(self, run: CaseRun) -> str:
        name = run.stage.name
        if run.force_next is not None:
            target, run.force_next = run.force_next, None
            return target
        escalate_share = ESCALATION_SHARE.get((name, run.case.priority), 0.0)
        for target in (BOTTLENECK_STAGE,):
            kind = self.process.edges.get((name, target))
            if kind == TransitionKind.ESCALATION and self.rng.random() < escalate_share:
                return target
        if run.reworks < MAX_REWORK:
            for target, share in STAGES[name].rework:
                category = run.case.category
                if category is not None and category.code == "complaint":
                    share *= 1.8
                if self.rng.random() < share:
                    return target
        return self.process.forward[name]

    def _finish(self, at: datetime, run: CaseRun, visit: int) -> None:
        if visit != run.visit:
            return
        stage = run.stage
        actor = self._actor(run)
        if stage.name == "Delivery":
            if self.rng.random() < 0.4:
                note_at = at - timedelta(minutes=30)
                self._message(run, note_at, "delivery_note", staff=True, note=True)
            self._message(run, at - timedelta(minutes=5), "delivery_reply", staff=True)
        for item in stage.checklist or []:
            if item not in (run.case.checklist_done or []):
                self._refresh(
                    run,
                    case_check_item(
                        case=run.case,
                        actor=actor,
                        item=item,
                        at=run.tick(at - timedelta(minutes=2)),
                    ),
                )
        target = self._next_stage(run)
        kind = self.process.edges[(stage.name, target)]
        if kind == TransitionKind.REWORK:
            run.reworks += 1
            self.counters.reworks += 1
        elif kind == TransitionKind.ESCALATION:
            self.counters.escalations += 1
        self._refresh(
            run,
            case_transition(
                case=run.case,
                to_stage=self.process.stages[target],
                actor=actor,
                at=run.tick(at),
            ),
        )
        self._entered(run, run.last)

    def _reopen(self, at: datetime, run: CaseRun) -> None:
        actor = self._actor(run)
        self._message(run, at, "reopen", staff=True, note=True)
        self._refresh(
            run,
            case_reopen(
                case=run.case, actor=actor, reason=say(self.rng, "reopen", "en"), at=run.tick(at)
            ),
        )
        self.counters.reopened += 1
        run.visit += 1
        run.force_next = "Delivery"
        shift = self._shift(run.stage)
        self.schedule(shift.add(at, lognormal(self.rng, 1.0, 0.5)), self._finish, run, run.visit)
