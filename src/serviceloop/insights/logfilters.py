"""What a manager asked to look at: the filter set an Insights page's log is read for, and the key
of the log kept for it (:mod:`serviceloop.insights.keptlogs`)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Literal

from django.utils import timezone

from serviceloop.insights.logstore import View

__all__ = ["ATTRIBUTES", "LOG_COLUMNS", "LogFilters", "TimeMode", "View"]

TimeMode = Literal["started", "intersecting", "completed", "contained"]

#: Case attributes carried by every event of the loaded log.
ATTRIBUTES = ("team", "category", "priority", "channel", "version", "status")
#: The columns of :func:`event_table`, in order.
LOG_COLUMNS = ("case_id", "activity", "timestamp", "resource", *ATTRIBUTES)


@dataclass(frozen=True)
class LogFilters:
    """What the manager asked to look at. Dates are local calendar days, ``end`` inclusive."""

    view: View = "stages"
    start: dt.date | None = None
    end: dt.date | None = None
    time_mode: TimeMode = "started"
    teams: tuple[int, ...] = ()
    categories: tuple[int, ...] = ()
    priorities: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    process: int | None = None  # every version of one process
    version: int | None = None
    min_hours: float | None = None
    max_hours: float | None = None
    top_variants: int | None = None

    @property
    def start_at(self) -> dt.datetime | None:
        return _local_midnight(self.start) if self.start else None

    @property
    def end_at(self) -> dt.datetime | None:
        """Exclusive end: midnight after the last day asked for."""
        return _local_midnight(self.end + dt.timedelta(days=1)) if self.end else None

    def database_key(self) -> str:
        """Identifies what the database query reads (the window's pushed-down bounds included)."""
        parts = [repr(getattr(self, name)) for name in _QUERY_FIELDS]
        parts += [repr(self.start_at if self.time_mode in ("started", "contained") else None)]
        parts += [repr(self.end_at)]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


_QUERY_FIELDS = ("view", "teams", "categories", "priorities", "channels", "process", "version")


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
