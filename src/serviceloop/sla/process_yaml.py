"""The SLA policies and quality standards of a process, carried in its YAML (``processes.sections``).

Two top-level sections, registered in ``SlaConfig.ready()``::

    sla_policies:
      - name: Urgent and high          # unique within the process
        order: 10                      # the first active match by order applies
        active: true
        priorities: [urgent, high]     # empty: any; likewise channels, categories, segments
        channels: []
        categories: []                 # category codes
        segments: []                   # customer segments
        warn_share: 0.75               # a warning when this share of a target is used
        calendar: null                 # a business calendar's name; null: the team's or the
                                       # organisation's
        targets: {first_response: 60, next_response: 240, resolution: 1620}   # business minutes
        escalations:
          - {trigger: breach, metric: resolution, action: reassign_team, team: specialists}
    quality_standards:
      - {indicator: rework_rate, stage: design, target: 0.1}   # stage: only for the rework rate

The import checks every element against the definition (stages) and the database (categories,
teams, calendars) and refuses the whole definition on any problem, naming the element
(``sla_policies[1].escalations[0].team``). Publishing the version makes the sections what the
process runs on: its policies are matched by name (so running clocks keep their policy), the
rest removed; its quality standards are replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from serviceloop.accounts.models import Team
from serviceloop.cases.choices import Channel, Priority
from serviceloop.cases.models import Category
from serviceloop.core.messages import Problem as CodedProblem
from serviceloop.sla.choices import Action, Indicator, Metric, Trigger
from serviceloop.sla.models import (
    BusinessCalendar,
    EscalationRule,
    QualityStandard,
    SlaPolicy,
    SlaTarget,
)

if TYPE_CHECKING:
    from serviceloop.accounts.models import User
    from serviceloop.analytics.process_model import ProcessSpec
    from serviceloop.processes.models import ProcessVersion

__all__ = ["POLICY_KEYS", "QUALITY_KEYS", "PolicySection", "QualitySection"]

POLICY_KEYS = (
    "name",
    "order",
    "active",
    "priorities",
    "channels",
    "categories",
    "segments",
    "warn_share",
    "calendar",
    "targets",
    "escalations",
)
ESCALATION_KEYS = ("trigger", "metric", "action", "team", "stage")
QUALITY_KEYS = ("indicator", "stage", "target")
_NAME_MAX, _CODE_MAX, _ORDER_MAX = 100, 50, 32767

Found = list[dict[str, str]]


class _Checker:
    """Typed reads of plain YAML values that record a coded problem instead of raising."""

    def __init__(self) -> None:
        self.problems: Found = []

    def fail(self, path: str, code: str, **params: Any) -> None:
        text = CodedProblem(code, params).render()
        self.problems.append({"path": path, "message": text, "code": code})

    def items(self, raw: Any, path: str) -> list[Any]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.fail(path, "yaml_not_list")
            return []
        return raw

    def mapping(self, raw: Any, path: str, keys: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            self.fail(path, "yaml_not_mapping", keys=", ".join(keys))
            return None
        for key in raw:
            if key not in keys:
                self.fail(f"{path}.{key}", "yaml_unknown_key", key=str(key), keys=", ".join(keys))
        return raw

    def text(self, obj: Mapping[str, Any], key: str, path: str, *, most: int) -> str:
        value = obj.get(key)
        if value is None or value == "":
            return ""
        if not isinstance(value, str) or len(value.strip()) > most:
            self.fail(f"{path}.{key}", "yaml_text", max=most)
            return ""
        return value.strip()

    def whole(self, value: Any, path: str, *, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(path, "yaml_whole_number", min=low, max=high)
            return None
        return value

    def share(self, value: Any, path: str, *, zero_ok: bool) -> float | None:
        number = not isinstance(value, bool) and isinstance(value, int | float)
        if not number or not (0 <= value <= 1) or (value == 0 and not zero_ok):
            self.fail(path, "yaml_share_range" if zero_ok else "yaml_warn_share_range")
            return None
        return float(value)

    def flag(self, obj: Mapping[str, Any], key: str, path: str, *, default: bool) -> bool:
        value = obj.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(f"{path}.{key}", "yaml_flag")
            return default
        return value

    def choices(
        self, obj: Mapping[str, Any], key: str, path: str, allowed: Callable[[str], bool], code: str
    ) -> list[str]:
        """A list of distinct strings, each accepted by ``allowed`` (else ``code`` names it)."""
        out: list[str] = []
        for i, value in enumerate(self.items(obj.get(key), f"{path}.{key}")):
            where = f"{path}.{key}[{i}]"
            if not isinstance(value, str) or not value.strip():
                self.fail(where, "yaml_text", max=_NAME_MAX)
            elif value in out:
                self.fail(where, "yaml_duplicate", value=value)
            elif not allowed(value):
                self.fail(where, code, value=value)
            else:
                out.append(value)
        return out

    def choice(self, value: Any, path: str, allowed: list[str]) -> str | None:
        if value is None:
            self.fail(path, "yaml_required")
            return None
        if not isinstance(value, str) or value not in allowed:
            self.fail(path, "bad_choice", value=str(value), choices=", ".join(allowed))
            return None
        return value


def _stage_codes(spec: ProcessSpec) -> set[str]:
    return {s.code for s in spec.stages}


class PolicySection:
    """``sla_policies``: the SLA policies of the process, their targets and escalation rules."""

    key = "sla_policies"
    label = _("SLA policies")

    def item_key(self, item: Any) -> str:
        return str(item["name"])

    def read(self, raw: Any, *, spec: ProcessSpec, path: str) -> tuple[Any, Found]:
        check = _Checker()
        rows = check.items(raw, path)
        categories = set(Category.objects.values_list("code", flat=True))
        teams = set(Team.objects.values_list("code", flat=True))
        calendars = set(BusinessCalendar.objects.values_list("name", flat=True))
        out: list[dict[str, Any]] = []
        names: set[str] = set()
        for i, item in enumerate(rows):
            where = f"{path}[{i}]"
            obj = check.mapping(item, where, POLICY_KEYS)
            if obj is None:
                continue
            name = check.text(obj, "name", where, most=_NAME_MAX)
            if obj.get("name") in (None, ""):
                check.fail(f"{where}.name", "yaml_required")
            elif name and name in names:
                check.fail(f"{where}.name", "yaml_policy_name_twice", name=name)
            names.add(name)
            calendar = obj.get("calendar")
            if calendar is not None and calendar not in calendars:
                check.fail(f"{where}.calendar", "yaml_calendar_unknown", value=str(calendar))
            order = obj.get("order", (i + 1) * 10)
            out.append(
                {
                    "name": name,
                    "order": check.whole(order, f"{where}.order", low=0, high=_ORDER_MAX),
                    "active": check.flag(obj, "active", where, default=True),
                    "priorities": check.choices(
                        obj, "priorities", where, Priority.values.__contains__, "yaml_priority"
                    ),
                    "channels": check.choices(
                        obj, "channels", where, Channel.values.__contains__, "yaml_channel"
                    ),
                    "categories": check.choices(
                        obj, "categories", where, categories.__contains__, "category_unknown"
                    ),
                    "segments": check.choices(obj, "segments", where, bool, "yaml_text"),
                    "warn_share": check.share(
                        obj.get("warn_share", 0.75), f"{where}.warn_share", zero_ok=False
                    ),
                    "calendar": calendar if isinstance(calendar, str) else None,
                    "targets": self._targets(check, obj.get("targets"), f"{where}.targets"),
                    "escalations": self._escalations(
                        check, obj.get("escalations"), f"{where}.escalations", teams, spec
                    ),
                }
            )
        return out, check.problems

    @staticmethod
    def _targets(check: _Checker, raw: Any, path: str) -> dict[str, int]:
        metrics = list(Metric.values)
        obj = check.mapping(raw, path, tuple(metrics))
        if obj is None:
            return {}
        out: dict[str, int] = {}
        for metric in metrics:
            if obj.get(metric) is not None:
                minutes = check.whole(obj[metric], f"{path}.{metric}", low=1, high=2**31 - 1)
                if minutes is not None:
                    out[metric] = minutes
        if all(obj.get(metric) is None for metric in metrics):
            check.fail(path, "yaml_targets_required", metrics=", ".join(metrics))
        return out

    @staticmethod
    def _escalations(
        check: _Checker, raw: Any, path: str, teams: set[str], spec: ProcessSpec
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        stages = _stage_codes(spec)
        for i, item in enumerate(check.items(raw, path)):
            where = f"{path}[{i}]"
            obj = check.mapping(item, where, ESCALATION_KEYS)
            if obj is None:
                continue
            action = check.choice(obj.get("action"), f"{where}.action", list(Action.values))
            metric = obj.get("metric")
            if metric is not None:
                metric = check.choice(metric, f"{where}.metric", list(Metric.values))
            team, stage = obj.get("team"), obj.get("stage")
            if team is not None and team not in teams:
                check.fail(f"{where}.team", "yaml_team_unknown", value=str(team))
            if stage is not None and stage not in stages:
                check.fail(f"{where}.stage", "yaml_stage_unknown", value=str(stage))
            if action == Action.REASSIGN_TEAM and team is None:
                check.fail(f"{where}.team", "yaml_escalation_team_required")
            if action == Action.MOVE_STAGE and stage is None:
                check.fail(f"{where}.stage", "yaml_escalation_stage_required")
            out.append(
                {
                    "trigger": check.choice(
                        obj.get("trigger"), f"{where}.trigger", list(Trigger.values)
                    ),
                    "metric": metric,
                    "action": action,
                    "team": team,
                    "stage": stage,
                }
            )
        return out

    def export(self, version: ProcessVersion) -> Any:
        policies = (
            SlaPolicy.objects.filter(process_id=version.process_id)
            .select_related("calendar")
            .prefetch_related(
                "targets",
                Prefetch("escalations", queryset=EscalationRule.objects.select_related("team")),
            )
            .order_by("order", "id")
        )
        return [
            {
                "name": p.name,
                "order": p.order,
                "active": p.is_active,
                "priorities": list(p.priorities),
                "channels": list(p.channels),
                "categories": list(p.categories),
                "segments": list(p.segments),
                "warn_share": p.warn_share,
                "calendar": p.calendar.name if p.calendar else None,
                "targets": {
                    t.metric: t.minutes
                    for t in sorted(p.targets.all(), key=lambda t: Metric.values.index(t.metric))
                },
                "escalations": [
                    {
                        "trigger": e.trigger,
                        "metric": e.metric or None,
                        "action": e.action,
                        "team": e.team.code if e.team else None,
                        "stage": e.stage_code or None,
                    }
                    for e in p.escalations.all()
                ],
            }
            for p in policies
        ]

    def apply(self, *, version: ProcessVersion, value: Any, actor: User | None) -> None:
        from serviceloop.sla.selectors import setup_forget

        existing: dict[str, SlaPolicy] = {}
        for policy in SlaPolicy.objects.filter(process_id=version.process_id).order_by("id"):
            existing.setdefault(policy.name, policy)
        calendars = {c.name: c for c in BusinessCalendar.objects.all()}
        teams = {t.code: t for t in Team.objects.all()}
        kept: list[int] = []
        for item in value:
            policy = existing.get(item["name"]) or SlaPolicy(process_id=version.process_id)
            policy.name, policy.order, policy.is_active = (
                item["name"],
                item["order"],
                item["active"],
            )
            for key in ("priorities", "channels", "categories", "segments", "warn_share"):
                setattr(policy, key, item[key])
            policy.calendar = calendars.get(item["calendar"]) if item["calendar"] else None
            policy.full_clean()
            policy.save()
            kept.append(policy.pk)
            SlaTarget.objects.filter(policy=policy).delete()
            SlaTarget.objects.bulk_create(
                SlaTarget(policy=policy, metric=metric, minutes=minutes)
                for metric, minutes in item["targets"].items()
            )
            EscalationRule.objects.filter(policy=policy).delete()
            EscalationRule.objects.bulk_create(
                EscalationRule(
                    policy=policy,
                    order=position,
                    trigger=rule["trigger"],
                    metric=rule["metric"] or "",
                    action=rule["action"],
                    team=teams.get(rule["team"]) if rule["team"] else None,
                    stage_code=rule["stage"] or "",
                )
                for position, rule in enumerate(item["escalations"], start=1)
            )
        SlaPolicy.objects.filter(process_id=version.process_id).exclude(pk__in=kept).delete()
        setup_forget()


class QualitySection:
    """``quality_standards``: reopen rate, rework rate (per stage too), first-contact resolution."""

    key = "quality_standards"
    label = _("Quality standards")

    def item_key(self, item: Any) -> str:
        indicator = Indicator(item["indicator"]).label
        return f"{indicator} · {item['stage']}" if item["stage"] else str(indicator)

    def read(self, raw: Any, *, spec: ProcessSpec, path: str) -> tuple[Any, Found]:
        check = _Checker()
        stages = _stage_codes(spec)
        out: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for i, item in enumerate(check.items(raw, path)):
            where = f"{path}[{i}]"
            obj = check.mapping(item, where, QUALITY_KEYS)
            if obj is None:
                continue
            indicator = check.choice(obj.get("indicator"), f"{where}.indicator", Indicator.values)
            stage = obj.get("stage")
            if stage is not None and stage not in stages:
                check.fail(f"{where}.stage", "yaml_stage_unknown", value=str(stage))
            elif stage is not None and indicator not in (None, Indicator.REWORK_RATE):
                check.fail(f"{where}.stage", "yaml_quality_stage_rework_only")
            if indicator is not None and (indicator, stage or "") in seen:
                check.fail(where, "yaml_quality_twice", indicator=indicator)
            seen.add((indicator or "", stage or ""))
            target = check.share(obj.get("target"), f"{where}.target", zero_ok=True)
            out.append({"indicator": indicator, "stage": stage, "target": target})
        return out, check.problems

    def export(self, version: ProcessVersion) -> Any:
        rows = QualityStandard.objects.filter(process_id=version.process_id).order_by("id")
        return [
            {"indicator": q.indicator, "stage": q.stage_code or None, "target": q.target}
            for q in rows
        ]

    def apply(self, *, version: ProcessVersion, value: Any, actor: User | None) -> None:
        QualityStandard.objects.filter(process_id=version.process_id).delete()
        standards = [
            QualityStandard(
                process_id=version.process_id,
                indicator=item["indicator"],
                stage_code=item["stage"] or "",
                target=item["target"],
            )
            for item in value
        ]
        for standard in standards:
            standard.full_clean(exclude=["process"], validate_unique=False)
        QualityStandard.objects.bulk_create(standards)
