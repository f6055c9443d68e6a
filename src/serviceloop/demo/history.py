"""Replay days of a service operation through the real case services.

A discrete-event replay: a heap of (time, action) steps, run in time order. Each step calls the same
services the product uses (``case_create``, ``case_assign``, ``message_add``, ``case_check_item``,
``case_transition``, ...) with ``at=`` set to the simulated instant, so the event log is exactly
what real work writes. Nothing here writes a case or an event row itself.

Per stage visit the case asks the stage's team for work: it joins the team's queue (a ``Desk``,
earliest first, with a head start for urgent and high priority) and waits until an agent of the
team is free and on shift; the agent then works ``work`` working hours on it, one piece of work at
a time, and ends the visit with the checklist ticked and a transition. Waiting is not drawn: it
is what the team's capacity makes of the load, so more agents in a team shorten its queue. The
Confirmation and Follow-up stages also wait on the customer, on the clock. Steps that would happen
after ``end`` are left undone, so the cases in flight at the end stay open, pending or resolved
where they are. About half the customers answer the satisfaction survey within a day and a bit of
closing; a low score opens a follow-up case or a complaint (the survey's rules), which the teams
then work, in a third of the usual time (the matter was worked once): a follow-up along the
process, a complaint along the complaint process's main path.

Deterministic by seed, and built for comparing two operations that differ only in staff: the
arrivals and every case's own draws come from their own random streams (a stream per case), so
the same cases arrive at the same moments with the same work whatever the team sizes.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from serviceloop.accounts.models import User
from serviceloop.cases.choices import CaseStatus, Channel, MessageKind, Priority
from serviceloop.cases.models import Case, Category
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
from serviceloop.core.messages import Problem
from serviceloop.demo.clock import Shift, arrivals_for_day
from serviceloop.demo.errors import DemoError
from serviceloop.demo.model import (
    BOTTLENECK_STAGE,
    PRIORITY_HEAD_START,
    STAGES,
    lognormal,
    weighted_choice,
)
from serviceloop.demo.names import CATEGORIES
from serviceloop.demo.people import Cast, DemoCustomer
from serviceloop.demo.texts import say
from serviceloop.evaluation.demo import ANSWER_SHARE, survey_demo_answer
from serviceloop.processes.choices import TransitionKind
from serviceloop.processes.models import ProcessVersion, Stage

__all__ = ["Counters", "ProcessMap", "Replay"]

ALL_DAYS = frozenset(range(7))
PRIORITIES = [
    (Priority.LOW, 0.15),
    (Priority.NORMAL, 0.6),
    (Priority.HIGH, 0.2),
    (Priority.URGENT, 0.05),
]
REGIONS = [("华东 East", 0.4), ("华北 North", 0.25), ("华南 South", 0.2), ("西部 West", 0.15)]
ESCALATE_AFTER_HOURS = 8.0  # working hours queued for Solution design before a manager steps in
MAX_REWORK = 2
END_MARGIN = timedelta(minutes=1)
# Urgent and high-priority cases sometimes skip confirmation along the escalation edges.
ESCALATION_SHARE: dict[tuple[str, str], float] = {
    ("Intake", Priority.URGENT): 0.5,
    ("Needs analysis", Priority.URGENT): 0.3,
    ("Needs analysis", Priority.HIGH): 0.08,
}
REOPEN_SHARE = 0.03
REOPEN_WORK = (1.0, 0.5)  # working hours to look into a reopened case
SECOND_ROUND_SHARE = 0.15  # confirmations where the customer asks for a change first
FOLLOWUP_SILENT_SHARE = 0.3  # customers who never answer the follow-up
SILENT_CLOSE_HOURS = 4.0  # working hours after the follow-up before a silent case is closed
SURVEY_ANSWER_HOURS = (2.0, 30.0)  # clock hours from closing to the customer's survey answer
OTHER_PROCESS_WORK = (2.0, 0.6)  # working hours per stage of a case on another process
SURVEY_CASE_WORK = 0.35  # a case a survey opened revisits work done: this share of the hours


@dataclass(frozen=True)
class ProcessMap:
    """The published version's stages by English name and its allowed edges."""

    version: ProcessVersion
    stages: dict[str, Stage]
    forward: dict[str, str]  # stage name -> the next stage on the main path
    edges: dict[tuple[str, str], str]  # (source, target) -> transition kind

    @classmethod
    def of(cls, version: ProcessVersion) -> ProcessMap:
        """The replay's process: it must have the stages and edges the demo's model works."""
        process = cls.read(version)
        missing = [name for name in STAGES if name not in process.stages]
        if missing:
            raise DemoError(Problem("demo_stages_missing", {"stages": missing}))
        for source, target in (("Delivery", BOTTLENECK_STAGE), ("Follow-up", "Delivery")):
            if (source, target) not in process.edges:
                raise DemoError(Problem("demo_edge_missing", {"source": source, "target": target}))
        return process

    @classmethod
    def read(cls, version: ProcessVersion) -> ProcessMap:
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
        return cls(version=version, stages=stages, forward=forward, edges=edges)


@dataclass
class CaseRun:
    """A case in flight and what the replay remembers about it."""

    case: Case
    who: DemoCustomer
    key: str  # seeds the case's own random streams
    rng: random.Random  # the case's own random stream
    last: datetime
    process: ProcessMap | None = None  # the process it runs on when not the replay's
    surveyed: bool = False  # the customer was asked (once, at the first closing)
    category: Category | None = None  # a case a survey opened: the surveyed case's category
    work_scale: float = 1.0  # of every piece of work's hours
    reworks: int = 0
    escalated: bool = False
    force_next: str | None = None
    confirm_rounds: int = 0
    visit: int = 0  # bumped on every stage entry; stale scheduled steps check it
    waiting: Work | None = None  # the work the case is queued for, until an agent takes it

    @property
    def stage(self) -> Stage:
        return self.case.stage

    def tick(self, at: datetime) -> datetime:
        """A strictly later instant than the case's last event, at or after ``at``."""
        self.last = max(at, self.last + timedelta(seconds=1))
        return self.last


Step = Callable[[datetime, CaseRun, int], None]


@dataclass(eq=False)
class Work:
    """A piece of work a case asks of its stage's team: ``hours`` working hours of one agent."""

    run: CaseRun
    visit: int
    stage: str
    hours: float
    queued_at: datetime
    done: Step  # called when the agent finishes
    begin: Step | None = None  # called when an agent takes it
    first: bool = False  # the visit's first piece: its wait is the wait before the stage's work
    cancelled: bool = False


@dataclass(eq=False)
class Desk:
    """A team's shared queue and its agents; each agent works one piece at a time, on shift."""

    team: str
    shift: Shift
    idle: list[User]
    queue: list[tuple[float, int, Work]] = field(default_factory=list)
    wake: datetime | None = None  # when a dispatch is already planned for the shift's start


@dataclass
class Counters:
    cases: int = 0
    closed: int = 0
    reworks: int = 0
    escalations: int = 0
    reopened: int = 0
    messages: int = 0
    survey_answers: int = 0
    opened_by_surveys: int = 0


@dataclass
class Replay:
    """The replay of one operation; ``load`` scales every piece of work (see ``demo.model``)."""

    rng: random.Random  # dispatch choices
    arrivals_rng: random.Random  # arrival instants and what each new case is
    seed: int  # seeds each case's own stream
    cast: Cast
    process: ProcessMap
    tz: tzinfo
    end: datetime
    per_weekday: float
    load: float = 1.0
    counters: Counters = field(default_factory=Counters)
    # Per stage: (queued at, seconds queued) of each visit's first piece of work, as it happened.
    waits: dict[str, list[tuple[datetime, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    _heap: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = field(
        default_factory=list
    )
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _processes: dict[int, ProcessMap] = field(default_factory=dict)

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
        self.desks = {
            team: Desk(
                team=team, shift=self.shifts.get(team, self.shifts["field"]), idle=list(members)
            )
            for team, members in self.cast.agents.items()
        }
        # what customers hold a case's time against: the stages' time standards, in the replay's
        # time (its work is scaled by the load)
        self._promised_hours = self.load * sum(
            (stage.time_standard_minutes or 0) / 60 for stage in self.process.stages.values()
        )
        self.awake = Shift(self.tz, time(8, 0), time(22, 0), ALL_DAYS)  # when customers answer
        self.categories = {c.code: c for c in self.cast.categories}
        self.category_weights = [(spec, spec.weight) for spec in CATEGORIES]
        self.customer_weights = [(c, c.weight) for c in self.cast.customers]
        self.agent_skills = {
            user.pk: set(user.agent_profile.skills.values_list("code", flat=True))
            for members in self.cast.agents.values()
            for user in members
        }
        self.skill_of = {
            c.pk: (c.skill.code if c.skill is not None else None) for c in self.cast.categories
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
            self.arrivals_rng, day_start=day_start, per_weekday=self.per_weekday, trend=trend
        ):
            self.schedule(at, self._create)

    def run_until(self, limit: datetime) -> None:
        """Run every scheduled step before ``limit`` (steps may schedule more)."""
        while self._heap and self._heap[0][0] < limit:
            at, _, step, args = heapq.heappop(self._heap)
            step(at, *args)

    # --- the teams' queues -----------------------------------------------------------------

    def _request(
        self,
        run: CaseRun,
        at: datetime,
        hours: tuple[float, float],
        done: Step,
        *,
        begin: Step | None = None,
        first: bool = False,
    ) -> None:
        """Queue a piece of work (lognormal ``hours``, scaled by the load) for the stage's team."""
        desk = self.desks[self._team_of(run.stage)]
        work = Work(
            run=run,
            visit=run.visit,
            stage=run.stage.name,
            hours=lognormal(run.rng, *hours) * self.load * run.work_scale,
            queued_at=at,
            done=done,
            begin=begin,
            first=first,
        )
        self._enqueue(desk, work)
        self._dispatch(at, desk)

    def _enqueue(self, desk: Desk, work: Work) -> None:
        head_start = PRIORITY_HEAD_START.get(work.run.case.priority, 0.0)
        key = work.queued_at.timestamp() - head_start * 3600
        heapq.heappush(desk.queue, (key, next(self._seq), work))
        work.run.waiting = work

    def _dispatch(self, at: datetime, desk: Desk) -> None:
        """Give queued work to idle agents, from the first moment the team is on shift."""
        while desk.queue and (desk.queue[0][2].cancelled or self._stale(desk.queue[0][2])):
            heapq.heappop(desk.queue)
        if not desk.queue or not desk.idle:
            return
        start = desk.shift.next_open(at)
        if start > at:
            if desk.wake != start:
                desk.wake = start
                self.schedule(start, self._wake, desk)
            return
        while desk.queue and desk.idle:
            _, _, work = heapq.heappop(desk.queue)
            if work.cancelled or self._stale(work):
                continue
            self._take(at, desk, self._pick(desk, work), work)

    @staticmethod
    def _stale(work: Work) -> bool:
        return work.visit != work.run.visit

    def _wake(self, at: datetime, desk: Desk) -> None:
        desk.wake = None
        self._dispatch(at, desk)

    def _pick(self, desk: Desk, work: Work) -> User:
        """The idle agent to take the work: the case's assignee if idle, else a skilled one."""
        case = work.run.case
        for agent in desk.idle:
            if agent.pk == case.assignee_id:
                return agent
        skill = self.skill_of.get(case.category_id) if case.category_id is not None else None
        able = [u for u in desk.idle if skill is None or skill in self.agent_skills[u.pk]]
        return self.rng.choice(able or desk.idle)

    def _take(self, at: datetime, desk: Desk, agent: User, work: Work) -> None:
        desk.idle.remove(agent)
        run = work.run
        run.waiting = None
        if work.first:
            self.waits[work.stage].append((work.queued_at, (at - work.queued_at).total_seconds()))
        if run.case.assignee_id != agent.pk:  # the team's lead hands the case to the free agent
            self._refresh(
                run,
                case_assign(
                    case=run.case, assignee=agent, actor=self.cast.managers[0], at=run.tick(at)
                ),
            )
        if work.begin is not None:
            work.begin(at, run, work.visit)
        self.schedule(desk.shift.add(at, work.hours), self._release, desk, agent, work)

    def _release(self, at: datetime, desk: Desk, agent: User, work: Work) -> None:
        if not self._stale(work):
            work.done(at, work.run, work.visit)
        desk.idle.append(agent)
        self._dispatch(at, desk)

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
            body=say(run.rng, what, lang),
            kind=kind,
            channel=channel,
            at=run.tick(at),
        )
        self.counters.messages += 1

    def _refresh(self, run: CaseRun, case: Case) -> None:
        run.case = case

    # --- steps -----------------------------------------------------------------------------

    def _create(self, at: datetime) -> None:
        rng = self.arrivals_rng
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
        key = f"{self.seed}:case:{self.counters.cases}"
        case_rng = random.Random(key)
        case = case_create(
            actor=actor,
            customer=who.customer,
            title=title,
            description=say(case_rng, "description", who.lang, title=title),
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
        run = CaseRun(case=case, who=who, key=key, rng=case_rng, last=at)
        self._entered(run, at)

    def _entered(self, run: CaseRun, at: datetime) -> None:
        """Plan the visit of the stage the case just entered."""
        run.visit += 1
        run.waiting = None
        stage = run.stage
        if stage.is_end:
            self.counters.closed += 1
            if run.process is None and run.rng.random() < REOPEN_SHARE:
                self.schedule(
                    self.shifts["frontline"].add(at, run.rng.uniform(8, 60)), self._reopen, run
                )
            if run.process is None and not run.surveyed:
                self._plan_survey(run, at)
            return
        if run.process is not None:
            self._request(run, at, OTHER_PROCESS_WORK, self._next_on_own_process, first=True)
            return
        model = STAGES[stage.name]
        if model.propose is not None:  # the agent writes the proposal first
            self._request(run, at, model.propose, self._proposal_done, first=True)
        elif model.delay is not None:
            wait = lognormal(run.rng, *model.delay)
            self.schedule(self._shift(stage).add(at, wait), self._delay_over, run, run.visit)
        else:
            self._request(run, at, model.work, self._finish, begin=self._begin, first=True)
        if stage.name == BOTTLENECK_STAGE and not run.escalated:
            self.schedule(
                self._shift(stage).add(at, ESCALATE_AFTER_HOURS), self._escalate, run, run.visit
            )

    def _begin(self, at: datetime, run: CaseRun, visit: int) -> None:
        """What an agent does on taking the stage's work."""
        name = run.stage.name
        if name == "Needs analysis":
            if run.case.channel != "phone":  # phoned-in needs were acknowledged on the call
                self._message(run, at, "ack", staff=True)
            if run.rng.random() < 0.3:
                self.schedule(at + timedelta(minutes=20), self._note, run, visit)
        elif name == BOTTLENECK_STAGE and run.rng.random() < 0.4:
            self._message(run, at, "design_note", staff=True, note=True)

    def _note(self, at: datetime, run: CaseRun, visit: int) -> None:
        if visit == run.visit:
            self._message(run, at, "analysis_note", staff=True, note=True)

    # --- Confirmation: the customer confirms the proposal ----------------------------------

    def _proposal_done(self, at: datetime, run: CaseRun, visit: int) -> None:
        self._propose(at, run, "proposal" if run.confirm_rounds == 0 else "revised")

    def _propose(self, at: datetime, run: CaseRun, what: str) -> None:
        self._message(run, at, what, staff=True)
        self._refresh(
            run,
            case_set_status(
                case=run.case, actor=self._actor(run), status=CaseStatus.PENDING, at=run.tick(at)
            ),
        )
        run.confirm_rounds += 1
        answer = STAGES["Confirmation"].answer
        assert answer is not None
        reply = self.awake.next_open(at + timedelta(hours=lognormal(run.rng, *answer)))
        self.schedule(reply, self._confirmation_answer, run, run.visit)

    def _confirmation_answer(self, at: datetime, run: CaseRun, visit: int) -> None:
        if visit != run.visit:
            return
        model = STAGES["Confirmation"]
        assert model.propose is not None
        if run.confirm_rounds == 1 and run.rng.random() < SECOND_ROUND_SHARE:
            self._message(run, at, "change_request", staff=False)
            self._request(run, at, model.propose, self._proposal_done)
            return
        self._message(run, at, "confirm", staff=False)
        self._request(run, at, model.work, self._finish)

    # --- Follow-up: a few hours after delivery, the customer is asked ---------------------

    def _delay_over(self, at: datetime, run: CaseRun, visit: int) -> None:
        if visit == run.visit:
            self._request(run, at, STAGES["Follow-up"].work, self._followup_sent, first=True)

    def _followup_sent(self, at: datetime, run: CaseRun, visit: int) -> None:
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
        model = STAGES["Follow-up"]
        assert model.answer is not None
        roll = run.rng.random()
        bad_share = dict(model.rework).get("Delivery", 0.0)
        answer = self.awake.next_open(at + timedelta(hours=lognormal(run.rng, *model.answer)))
        if run.reworks < MAX_REWORK and roll < bad_share:
            self.schedule(answer, self._followup_answer, run, visit, False)
        elif roll < 1 - FOLLOWUP_SILENT_SHARE:
            self.schedule(answer, self._followup_answer, run, visit, True)
        else:
            closing = self._shift(run.stage).add(at, SILENT_CLOSE_HOURS)
            self.schedule(closing, self._finish, run, visit)

    def _followup_answer(self, at: datetime, run: CaseRun, visit: int, happy: bool) -> None:
        if visit != run.visit:
            return
        self._message(run, at, "followup_ok" if happy else "followup_bad", staff=False)
        if not happy:
            run.force_next = "Delivery"
        self._request(run, at, STAGES["Follow-up"].work, self._finish)

    # --- escalation, routing, the end of a visit, reopening -------------------------------

    def _escalate(self, at: datetime, run: CaseRun, visit: int) -> None:
        """A manager steps in for a case still queued for Solution design; it moves up."""
        work = run.waiting
        if visit != run.visit or work is None or work.visit != visit or run.escalated:
            return
        manager = self.cast.managers[-1]
        run.escalated = True
        self._refresh(
            run,
            case_escalate(
                case=run.case,
                actor=manager,
                reason=say(run.rng, "escalation", run.who.lang),
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
            work.cancelled = True  # queue it again, with the head start of its new priority
            again = replace(work, cancelled=False)
            desk = self.desks[self._team_of(run.stage)]
            self._enqueue(desk, again)
            self._dispatch(at, desk)
        self.counters.escalations += 1

    def _next_stage(self, run: CaseRun) -> str:
        name = run.stage.name
        if run.force_next is not None:
            target, run.force_next = run.force_next, None
            return target
        escalate_share = ESCALATION_SHARE.get((name, run.case.priority), 0.0)
        for target in (BOTTLENECK_STAGE,):
            kind = self.process.edges.get((name, target))
            if kind == TransitionKind.ESCALATION and run.rng.random() < escalate_share:
                return target
        if run.reworks < MAX_REWORK:
            for target, share in STAGES[name].rework:
                category = run.case.category
                if category is not None and category.code == "complaint":
                    share *= 1.8
                if run.rng.random() < share:
                    return target
        return self.process.forward[name]

    def _finish(self, at: datetime, run: CaseRun, visit: int) -> None:
        if visit != run.visit:
            return
        stage = run.stage
        actor = self._actor(run)
        if stage.name == "Delivery":
            if run.rng.random() < 0.4:
                note_at = at - timedelta(minutes=30)
                self._message(run, note_at, "delivery_note", staff=True, note=True)
            self._message(run, at - timedelta(minutes=5), "delivery_reply", staff=True)
        self._tick_checklist(run, at)
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

    def _tick_checklist(self, run: CaseRun, at: datetime) -> None:
        """The stage's checklist ticked and its required fields filled, just before moving on."""
        actor = self._actor(run)
        if "category" in (run.stage.required_fields or []) and run.case.category_id is None:
            # a case a survey opened: the agent files it under the surveyed case's category
            changes = {"category": run.category.code if run.category else None}
            self._refresh(
                run,
                case_update(
                    case=run.case,
                    actor=actor,
                    changes=changes,
                    at=run.tick(at - timedelta(minutes=3)),
                ),
            )
        for item in run.stage.checklist or []:
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

    def _reopen(self, at: datetime, run: CaseRun) -> None:
        actor = self._actor(run)
        self._message(run, at, "reopen", staff=True, note=True)
        self._refresh(
            run,
            case_reopen(
                case=run.case, actor=actor, reason=say(run.rng, "reopen", "en"), at=run.tick(at)
            ),
        )
        self.counters.reopened += 1
        run.visit += 1
        run.force_next = "Delivery"
        self._request(run, at, REOPEN_WORK, self._finish)

    # --- the satisfaction survey, and the cases low scores open ----------------------------

    def _plan_survey(self, run: CaseRun, at: datetime) -> None:
        run.surveyed = True
        rng = random.Random(f"{run.key}:survey")
        if rng.random() < ANSWER_SHARE:
            answer_at = at + timedelta(hours=rng.uniform(*SURVEY_ANSWER_HOURS))
            self.schedule(answer_at, self._survey_answer, run, rng)

    def _survey_answer(self, at: datetime, run: CaseRun, rng: random.Random) -> None:
        opened = survey_demo_answer(
            case=run.case,
            expected_hours=self._promised_hours,
            rng=rng,
            at=run.tick(at),
        )
        self.counters.survey_answers += 1
        if opened is None:
            return
        self.counters.opened_by_surveys += 1
        key = f"{run.key}:follow-up"
        adopted = CaseRun(
            case=opened,
            who=run.who,
            key=key,
            rng=random.Random(key),
            last=run.last,
            process=self._process_of(opened),
            surveyed=True,  # its customer was just asked
            category=run.case.category,
            work_scale=SURVEY_CASE_WORK,
        )
        self._entered(adopted, adopted.last)

    def _process_of(self, case: Case) -> ProcessMap | None:
        """None for the replay's own process, else the map of the one the case runs on."""
        version = case.process_version
        if version.pk == self.process.version.pk:
            return None
        if version.pk not in self._processes:
            self._processes[version.pk] = ProcessMap.read(version)
        return self._processes[version.pk]

    def _next_on_own_process(self, at: datetime, run: CaseRun, visit: int) -> None:
        """A stage of another process done: its checklist ticked, on along the main path."""
        if visit != run.visit:
            return
        assert run.process is not None
        self._tick_checklist(run, at)
        target = run.process.stages[run.process.forward[run.stage.name]]
        self._refresh(
            run,
            case_transition(
                case=run.case, to_stage=target, actor=self._actor(run), at=run.tick(at)
            ),
        )
        self._entered(run, run.last)
