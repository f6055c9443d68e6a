"""The indicator system (a tree), its AHP judgements, manual scores and stored evaluations.

An evaluation is stored with every number it was computed from: one ``EvaluationResult`` per unit
and one ``EvaluationMeasure`` per unit and leaf indicator (raw value, normalised value, weight and
contribution), so each score can be traced back to its measures and reproduced.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from serviceloop.evaluation.choices import Direction, Method, Source, UnitKind, Weighting

__all__ = [
    "ComparisonMatrix",
    "Evaluation",
    "EvaluationMeasure",
    "EvaluationResult",
    "Indicator",
    "IndicatorSystem",
    "ManualScore",
    "QACriterion",
    "QAReview",
]


def _localised(name: str, name_zh: str) -> str:
    """The Chinese name when the active language is Chinese and one is set."""
    language = translation.get_language() or ""
    return name_zh if name_zh and language.lower().startswith("zh") else name


class IndicatorSystem(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    parameters = models.JSONField(
        _("parameters"),
        default=dict,
        blank=True,
        help_text=_(
            'Run parameters, e.g. {"cost_per_hour": {"default": 100, "<team code>": 120}}.'
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("indicator system")
        verbose_name_plural = _("indicator systems")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return _localised(self.name, self.name_zh)


class Indicator(models.Model):
    """A node of the tree. Leaves are measured; inner nodes group their children.

    ``weight`` is the manual weight among siblings; ``ahp_weight`` the one derived from the
    latest consistent comparison matrix of the parent (null until one is saved).
    """

    system = models.ForeignKey(IndicatorSystem, on_delete=models.CASCADE, related_name="indicators")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    code = models.SlugField(_("code"), max_length=50)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, blank=True)
    measure = models.CharField(
        _("measure"), max_length=50, blank=True, help_text=_("Computed measure (leaves only).")
    )
    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction.choices, default=Direction.BENEFIT
    )
    unit = models.CharField(_("unit"), max_length=30, blank=True)
    target = models.FloatField(_("target"), null=True, blank=True)
    weight = models.FloatField(_("manual weight"), default=1.0)
    ahp_weight = models.FloatField(_("AHP weight"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["system", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["system", "code"], name="indicator_code_unique"),
            models.CheckConstraint(
                condition=models.Q(weight__gte=0),
                name="indicator_weight_not_negative",
                violation_error_message=_("A weight cannot be negative."),
            ),
            models.CheckConstraint(
                condition=models.Q(direction__in=Direction.values),
                name="indicator_direction_valid",
                violation_error_message=_("Unknown direction."),
            ),
        ]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return _localised(self.name, self.name_zh)


class ComparisonMatrix(models.Model):
    """Pairwise judgements among the children of one node (``parent`` null: the first level).

    Saved only when consistent (CR <= 0.1); the derived weights are copied to the children's
    ``ahp_weight``. Older matrices stay as the history of who judged what.
    """

    system = models.ForeignKey(IndicatorSystem, on_delete=models.CASCADE, related_name="matrices")
    parent = models.ForeignKey(
        Indicator, on_delete=models.CASCADE, null=True, blank=True, related_name="matrices"
    )
    judgements = models.JSONField(_("judgements"), help_text="[[row code, column code, value]]")
    weights = models.JSONField(_("weights"))
    consistency_ratio = models.FloatField(_("consistency ratio"))
    lambda_max = models.FloatField(_("largest eigenvalue"))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(_("entered"))

    class Meta:
        ordering = ["-entered_at", "-id"]
        verbose_name = _("comparison matrix")
        verbose_name_plural = _("comparison matrices")

    def __str__(self) -> str:
        return f"{self.parent or self.system} CR={self.consistency_ratio:.3f}"


class ManualScore(models.Model):
    """A value entered for one indicator, unit and period (equipment utilisation, ...)."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="manual_scores")
    unit_kind = models.CharField(_("unit kind"), max_length=8, choices=UnitKind.choices)
    unit_key = models.CharField(_("unit"), max_length=64)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    value = models.FloatField(_("value"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(_("entered"))

    class Meta:
        ordering = ["-period_start", "indicator", "unit_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "unit_kind", "unit_key", "period_start", "period_end"],
                name="manual_score_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="manual_score_period_ordered",
                violation_error_message=_("The period ends before it starts."),
            ),
        ]
        verbose_name = _("manual score")
        verbose_name_plural = _("manual scores")

    def __str__(self) -> str:
        return f"{self.indicator} {self.unit_key} {self.period_start}..{self.period_end}"


class Evaluation(models.Model):
    """One composite evaluation of units over a period, with the settings it used."""

    system = models.ForeignKey(
        IndicatorSystem, on_delete=models.PROTECT, related_name="evaluations"
    )
    name = models.CharField(_("name"), max_length=200)
    unit_kind = models.CharField(_("units"), max_length=8, choices=UnitKind.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"), help_text=_("Inclusive."))
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    weighting = models.CharField(_("weighting"), max_length=16, choices=Weighting.choices)
    alpha = models.FloatField(_("share of subjective weights"), default=0.5)
    tiers = models.PositiveSmallIntegerField(_("RSR tiers"), default=3)
    weights = models.JSONField(_("leaf weights used"), default=dict)
    excluded = models.JSONField(_("indicators left out"), default=list, blank=True)
    details = models.JSONField(_("method details"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))

    class Meta:
        ordering = ["-period_end", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["system", "unit_kind", "period_end"], name="evaluation_trend_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="evaluation_period_ordered",
                violation_error_message=_("The period ends before it starts."),
            ),
        ]
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")

    def __str__(self) -> str:
        return self.name


class EvaluationResult(models.Model):
    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="results")
    unit_key = models.CharField(_("unit"), max_length=64)
    unit_label = models.CharField(_("unit name"), max_length=200)
    score = models.FloatField(_("score"))
    rank = models.PositiveIntegerField(_("rank"))
    tier = models.PositiveSmallIntegerField(_("tier"), null=True, blank=True)
    dimensions = models.JSONField(_("score per first-level indicator"), default=dict)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["evaluation", "rank", "unit_label"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "unit_key"], name="result_unit_unique")
        ]
        verbose_name = _("evaluation result")
        verbose_name_plural = _("evaluation results")

    def __str__(self) -> str:
        return f"{self.unit_label}: {self.score:.3f}"


class EvaluationMeasure(models.Model):
    """One input of one unit's score: what was measured and what it contributed."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="measures")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    unit_key = models.CharField(_("unit"), max_length=64)
    raw_value = models.FloatField(_("measured value"))
    normalised = models.FloatField(_("normalised value"))
    weight = models.FloatField(_("weight"))
    contribution = models.FloatField(_("contribution"))
    basis = models.CharField(_("based on"), max_length=300, blank=True)

    class Meta:
        ordering = ["evaluation", "unit_key", "indicator__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "unit_key", "indicator"], name="measure_unit_unique"
            )
        ]
        verbose_name = _("evaluation measure")
        verbose_name_plural = _("evaluation measures")

    def __str__(self) -> str:
        return f"{self.unit_key} {self.indicator}: {self.raw_value}"


class QACriterion(models.Model):
    """A behaviour standard reviewers score (greeting, accuracy, empathy, ...), weighted."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    weight = models.FloatField(_("weight"), default=1.0)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weight__gt=0),
                name="qa_criterion_weight_positive",
                violation_error_message=_("A weight must be above 0."),
            )
        ]
        verbose_name = _("QA criterion")
        verbose_name_plural = _("QA criteria")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return _localised(self.name, self.name_zh)


class QAReview(models.Model):
    """One reviewer's review of one case handled by one agent; ``score`` is the weighted mean of
    the criteria (0-100), set when the review is submitted."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="qa_reviews")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(_("assigned"))
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    score = models.FloatField(_("score"), null=True, blank=True)
    scores = models.JSONField(_("score per criterion"), default=dict, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["-assigned_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "reviewer"], name="qa_review_once_per_reviewer")
        ]
        indexes = [models.Index(fields=["agent", "submitted_at"], name="qa_agent_idx")]
        verbose_name = _("QA review")
        verbose_name_plural = _("QA reviews")

    def __str__(self) -> str:
        return f"{self.case_id} by {self.reviewer_id}"
