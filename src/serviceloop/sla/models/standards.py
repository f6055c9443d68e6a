"""Business calendars, SLA policies with their targets and escalation rules, and the SLA clocks
stored per case.

A clock's due and warning times are stored (``due_at``, ``warn_at``), never only computed in
memory: the worker finds what is due with an indexed query, and the moments a warning or a breach
was recorded (``warned_at``, ``breached_at``) make each of them happen once per target and case.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from serviceloop.cases.choices import Channel, Priority
from serviceloop.core.messages import validation_error
from serviceloop.sla.business_time import BusinessTimeError, parse_hours
from serviceloop.sla.choices import Action, DateKind, Indicator, Metric, Trigger

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise
else:
    StrOrPromise = str

__all__ = [
    "WEEKDAY_FIELDS",
    "BusinessCalendar",
    "CalendarDate",
    "EscalationRule",
    "QualityStandard",
    "SlaClock",
    "SlaPolicy",
    "SlaTarget",
]

WEEKDAY_FIELDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HOURS_HELP = _('Working hours, e.g. "09:00-12:00, 13:30-18:00"; empty for a day off.')


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise validation_error("time_zone_unknown", {"zone": value}) from exc


def validate_hours(value: str) -> None:
    try:
        parse_hours(value)
    except BusinessTimeError as exc:
        raise validation_error(exc.code, exc.params) from exc


def validate_country(value: str) -> None:
    import holidays

    if value and value not in holidays.list_supported_countries():
        raise validation_error("country_unknown", {"code": value})


def _hours_field(label: StrOrPromise, default: str) -> models.CharField[Any, Any]:
    return models.CharField(
        label,
        max_length=100,
        blank=True,
        default=default,
        validators=[validate_hours],
        help_text=_HOURS_HELP,
    )


class BusinessCalendar(models.Model):
    """Working hours per weekday in a time zone, public holidays and make-up working days of a
    country (``holidays`` library), and the dates an administrator adds. One calendar serves the
    organisation (no team); a team may have its own."""

    name = models.CharField(_("name"), max_length=100)
    team = models.OneToOneField(
        "accounts.Team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sla_calendar",
        help_text=_("Empty: the organisation's calendar."),
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )
    country = models.CharField(
        _("holidays of country"),
        max_length=3,
        blank=True,
        default="CN",
        validators=[validate_country],
        help_text=_("ISO code (CN, US, DE...): its public holidays and make-up working days."),
    )
    subdivision = models.CharField(_("region"), max_length=10, blank=True)
    monday = _hours_field(_("Monday"), "09:00-18:00")
    tuesday = _hours_field(_("Tuesday"), "09:00-18:00")
    wednesday = _hours_field(_("Wednesday"), "09:00-18:00")
    thursday = _hours_field(_("Thursday"), "09:00-18:00")
    friday = _hours_field(_("Friday"), "09:00-18:00")
    saturday = _hours_field(_("Saturday"), "")
    sunday = _hours_field(_("Sunday"), "")
    makeup_hours = models.CharField(
        _("hours on make-up days"),
        max_length=100,
        blank=True,
        validators=[validate_hours],
        help_text=_("Empty: the hours of the first weekday that has any."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                models.Value(1),
                condition=models.Q(team__isnull=True),
                name="sla_calendar_one_organisation",
                violation_error_message=_("The organisation already has a calendar."),
            ),
        ]
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not any(getattr(self, day).strip() for day in WEEKDAY_FIELDS):
            raise validation_error("calendar_no_hours")
        if self.subdivision and not self.country:
            raise ValidationError({"subdivision": validation_error("region_needs_country")})


class CalendarDate(models.Model):
    """A date the administrator closes (a company holiday) or opens (a make-up working day)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="dates")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=16, choices=DateKind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date"],
                name="sla_calendar_date_uniq",
                violation_error_message=_("This date is already in the calendar."),
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=DateKind.values),
                name="sla_calendar_date_kind_valid",
                violation_error_message=_("Unknown kind of date."),
            ),
        ]
        verbose_name = _("calendar date")
        verbose_name_plural = _("calendar dates")

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class SlaPolicy(models.Model):
    """SLA targets for the cases that match its conditions; the first active match by ``order``
    applies. An empty condition list matches every value."""

    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)
    process = models.ForeignKey(
        "processes.ServiceProcess",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sla_policies",
        help_text=_("Empty: every process."),
    )
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    categories = models.JSONField(_("category codes"), default=list, blank=True)
    segments = models.JSONField(_("customer segments"), default=list, blank=True)
    warn_share = models.FloatField(
        _("warn at share of target"),
        default=0.75,
        help_text=_("A warning is recorded when this share of a target is used (0-1)."),
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: the case team's calendar, else the organisation's."),
    )

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(warn_share__gt=0, warn_share__lte=1),
                name="sla_policy_warn_share_range",
                violation_error_message=_("The warning share must be above 0 and at most 1."),
            )
        ]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        for name, allowed in (("priorities", Priority.values), ("channels", Channel.values)):
            value = getattr(self, name)
            if not isinstance(value, list) or any(v not in allowed for v in value):
                errors[name] = validation_error("list_of_choices", {"allowed": list(allowed)})
        for name in ("categories", "segments"):
            value = getattr(self, name)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors[name] = validation_error("list_of_texts")
        if errors:
            raise ValidationError(errors)


class SlaTarget(models.Model):
    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    minutes = models.PositiveIntegerField(_("business minutes"))

    class Meta:
        ordering = ["policy", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "metric"],
                name="sla_target_metric_uniq",
                violation_error_message=_("This policy already has a target for this metric."),
            ),
            models.CheckConstraint(
                condition=models.Q(metric__in=Metric.values),
                name="sla_target_metric_valid",
                violation_error_message=_("Unknown metric."),
            ),
        ]
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")

    def __str__(self) -> str:
        return f"{self.get_metric_display()}: {self.minutes} min"


class EscalationRule(models.Model):
    """What happens when a clock of the policy warns or breaches; each action is a case event."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="escalations")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    trigger = models.CharField(_("on"), max_length=16, choices=Trigger.choices)
    metric = models.CharField(
        _("metric"), max_length=20, choices=Metric.choices, blank=True, help_text=_("Empty: any.")
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    stage_code = models.SlugField(_("escalation stage code"), max_length=50, blank=True)

    class Meta:
        ordering = ["policy", "order", "id"]
        verbose_name = _("escalation rule")
        verbose_name_plural = _("escalation rules")

    def __str__(self) -> str:
        return f"{self.get_trigger_display()}: {self.get_action_display()}"

    def clean(self) -> None:
        if self.action == Action.REASSIGN_TEAM and self.team_id is None:
            raise ValidationError({"team": validation_error("escalation_team_required")})
        if self.action == Action.MOVE_STAGE and not self.stage_code:
            raise ValidationError({"stage_code": validation_error("escalation_stage_required")})


class SlaClock(models.Model):
    """One SLA target running on one case (``next_response`` restarts as a new ``cycle``).

    ``used_seconds`` is the working time used before ``since`` (the last change); while
    ``running`` the clock counts from ``since``. ``due_at``/``warn_at`` are stored for the worker;
    both are empty while paused or stopped.
    """

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="sla_clocks")
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    cycle = models.PositiveIntegerField(default=1)
    policy = models.ForeignKey(
        SlaPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target_seconds = models.PositiveIntegerField()
    warn_seconds = models.PositiveIntegerField()
    used_seconds = models.PositiveIntegerField(default=0)
    since = models.DateTimeField()
    running = models.BooleanField(default=True)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "metric"]
        constraints = [
            models.UniqueConstraint(fields=["case", "metric"], name="sla_clock_case_metric_uniq"),
        ]
        indexes = [
            # The worker's two look-ups: only clocks with a threshold still to record.
            models.Index(
                fields=["warn_at"], name="sla_clock_warn_idx", condition=models.Q(warned_at=None)
            ),
            models.Index(
                fields=["due_at"], name="sla_clock_due_idx", condition=models.Q(breached_at=None)
            ),
            # The live page: the at-risk list and attainment over a period.
            models.Index(
                fields=["due_at"],
                name="sla_clock_open_due_idx",
                condition=models.Q(stopped_at=None),
            ),
            models.Index(fields=["stopped_at"], name="sla_clock_stopped_idx"),
            models.Index(fields=["breached_at"], name="sla_clock_breached_idx"),
            # The live page's percentiles: the latest stopped clocks of a metric, index only.
            models.Index(
                fields=["metric", "-stopped_at"],
                include=["used_seconds", "case"],
                name="sla_clock_metric_stopped_idx",
                condition=models.Q(stopped_at__isnull=False),
            ),
        ]
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")

    def __str__(self) -> str:
        return f"{self.case_id} {self.metric} #{self.cycle}"

    @property
    def state(self) -> str:
        if self.stopped_at is not None:
            return "stopped"
        return "running" if self.running else "paused"


class QualityStandard(models.Model):
    """A measurable quality target of a process (or one of its stages), read from the event log:
    reopen rate and rework rate at most ``target``, first-contact resolution at least ``target``."""

    process = models.ForeignKey(
        "processes.ServiceProcess", on_delete=models.CASCADE, related_name="quality_standards"
    )
    stage_code = models.SlugField(
        _("stage code"), max_length=50, blank=True, help_text=_("Empty: the whole process.")
    )
    indicator = models.CharField(_("indicator"), max_length=32, choices=Indicator.choices)
    target = models.FloatField(_("target share"), help_text=_("Between 0 and 1, e.g. 0.05."))

    class Meta:
        ordering = ["process", "indicator", "stage_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["process", "stage_code", "indicator"],
                name="sla_quality_standard_uniq",
                violation_error_message=_("This standard already exists."),
            ),
            models.CheckConstraint(
                condition=models.Q(target__gte=0, target__lte=1),
                name="sla_quality_target_range",
                violation_error_message=_("The target is a share between 0 and 1."),
            ),
            models.CheckConstraint(
                condition=models.Q(indicator__in=Indicator.values),
                name="sla_quality_indicator_valid",
                violation_error_message=_("Unknown indicator."),
            ),
        ]
        verbose_name = _("quality standard")
        verbose_name_plural = _("quality standards")

    def __str__(self) -> str:
        where = f" @ {self.stage_code}" if self.stage_code else ""
        return f"{self.process}: {self.get_indicator_display()}{where} {self.target:.0%}"

    @property
    def at_least(self) -> bool:
        return self.indicator == Indicator.FIRST_CONTACT_RESOLUTION

    def clean(self) -> None:
        if self.stage_code and self.indicator != Indicator.REWORK_RATE:
            raise ValidationError({"stage_code": validation_error("per_stage_rework_only")})
