from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    """Where an indicator's value comes from."""

    COMPUTED = "computed", _("Computed from the case log")
    SURVEY = "survey", _("Surveys")
    QA = "qa", _("Quality reviews")
    MANUAL = "manual", _("Entered per period")


class Direction(models.TextChoices):
    BENEFIT = "benefit", _("Higher is better")
    COST = "cost", _("Lower is better")


class UnitKind(models.TextChoices):
    """What is being compared in one evaluation."""

    TEAM = "team", _("Teams")
    AGENT = "agent", _("Agents")
    MONTH = "month", _("Months")
    VERSION = "version", _("Process versions")


class Method(models.TextChoices):
    WEIGHTED_SUM = "weighted_sum", _("Weighted sum")
    TOPSIS = "topsis", _("TOPSIS")
    RSR = "rsr", _("Rank-sum ratio (RSR)")


class Weighting(models.TextChoices):
    MANUAL = "manual", _("Manual weights")
    AHP = "ahp", _("AHP (pairwise comparisons)")
    ENTROPY = "entropy", _("Entropy (from the data)")
    BLEND = "blend", _("Blend of subjective and entropy weights")
