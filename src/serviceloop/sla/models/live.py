"""Counters behind the live page's aggregate panels (PostgreSQL only; see ``sla.counters``).

Rows are deltas: database triggers on the cases and clocks tables insert one row per change, in
the transaction of the change (an insert never waits for another transaction, so counters add no
lock a user's change could deadlock on); the worker folds them into one row per key each round.
A panel sums the rows of its keys. Team 0 stands for "no team"."""

from __future__ import annotations

from django.db import models

__all__ = ["CaseHourCount", "ClockHourCount"]


class CaseHourCount(models.Model):
    """Cases by team, stage, status and the UTC hour they were opened in."""

    team_id = models.BigIntegerField()
    stage_id = models.BigIntegerField()
    status = models.CharField(max_length=16)
    hour = models.DateTimeField()
    n = models.IntegerField()
    folded = models.BooleanField(db_default=False)

    class Meta:
        db_table = "sla_live_case_hours"
        indexes = [
            models.Index(fields=["status", "team_id"], name="sla_live_case_status_idx"),
            models.Index(fields=["hour", "team_id"], name="sla_live_case_hour_idx"),
            models.Index(
                fields=["team_id", "stage_id", "status", "hour"], name="sla_live_case_key_idx"
            ),
            models.Index(
                fields=["hour"], name="sla_live_case_fresh_idx", condition=models.Q(folded=False)
            ),
        ]

    def __str__(self) -> str:
        return f"team {self.team_id} stage {self.stage_id} {self.status} {self.hour:%Y-%m-%d %H}h"


class ClockHourCount(models.Model):
    """SLA clocks by the case's team, metric and UTC hour: ``met`` (stopped in time, by the hour
    it stopped), ``breached`` (by the hour of the breach), ``stopped`` (by the hour it stopped)."""

    team_id = models.BigIntegerField()
    metric = models.CharField(max_length=20)
    hour = models.DateTimeField()
    met = models.IntegerField()
    breached = models.IntegerField()
    stopped = models.IntegerField()
    folded = models.BooleanField(db_default=False)

    class Meta:
        db_table = "sla_live_clock_hours"
        indexes = [
            models.Index(fields=["hour", "team_id"], name="sla_live_clock_hour_idx"),
            models.Index(fields=["team_id", "metric", "hour"], name="sla_live_clock_key_idx"),
            models.Index(
                fields=["hour"], name="sla_live_clock_fresh_idx", condition=models.Q(folded=False)
            ),
        ]

    def __str__(self) -> str:
        return f"team {self.team_id} {self.metric} {self.hour:%Y-%m-%d %H}h"
