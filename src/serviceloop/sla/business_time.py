"""Business-time arithmetic: how much working time lies between two instants, and when a given
amount of working time after an instant runs out. No Django here, so it is fast to import and test.

Definition (what the tests check against a minute-by-minute walk): an instant is *working* when its
wall-clock time in the calendar's time zone falls inside the working hours of its local date. The
hours of a date are, in order of precedence: none on a closed date (public holiday, admin-added
closure); the weekday's hours, or the make-up hours when that weekday has none, on a working date
(China's 调休 make-up days, admin-added); the weekday's hours otherwise. DST follows from the
definition: a spring-forward day loses the skipped wall-clock hour if it was a working hour, a
fall-back day counts a repeated working hour twice.

A calendar is compiled once into a *timeline*: the working intervals as sorted UTC epoch seconds
with the working time accumulated before each. Then the working time up to an instant is one binary
search, and its inverse (the due time) another, so a million due times are two ``np.searchsorted``
calls. Instants are whole UTC epoch seconds; datetimes are truncated to the second.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from threading import Lock
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

__all__ = [
    "BusinessCalendar",
    "BusinessTimeError",
    "Clock",
    "Hours",
    "Timeline",
    "parse_hours",
]

DAY = 86_400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_PROBE = 6 * 3600  # UTC offsets are probed every 6 hours; no zone changes twice within that

Hours = tuple[tuple[int, int], ...]
"""Working intervals of one day as (start, end) minutes after local midnight, 0 <= start < end <=
1440, sorted and not touching."""

Int64Array = npt.NDArray[np.int64]


class BusinessTimeError(ValueError):
    """A calendar that cannot be used: unknown time zone, malformed or empty working hours.

    Malformed hours also carry ``code`` and ``params``, the problem as
    ``serviceloop.core.messages`` names it, so forms say it in the reader's language.
    """

    def __init__(self, message: str, *, code: str = "", **params: str) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


def parse_hours(text: str) -> Hours:
    """``"09:00-12:00, 13:00-18:00"`` -> ((540, 720), (780, 1080)); ``24:00`` ends a day."""

    def minute(part: str) -> int:
        hh, sep, mm = part.strip().partition(":")
        if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2:
            raise BusinessTimeError(
                f"{part.strip()!r} is not a time like 09:00.",
                code="hours_time_format",
                value=part.strip(),
            )
        value = int(hh) * 60 + int(mm)
        if int(mm) > 59 or value > 1440:
            raise BusinessTimeError(
                f"{part.strip()!r} is not a time between 00:00 and 24:00.",
                code="hours_time_range",
                value=part.strip(),
            )
        return value

    intervals = []
    for chunk in filter(None, (c.strip() for c in text.split(","))):
        start, sep, end = chunk.partition("-")
        if not sep:
            raise BusinessTimeError(
                f"{chunk!r} is not a range like 09:00-18:00.",
                code="hours_range_format",
                value=chunk,
            )
        intervals.append((minute(start), minute(end)))
    return _check_hours(intervals, label=text)


def _check_hours(intervals: Iterable[Sequence[int]], *, label: object) -> Hours:
    hours = tuple(sorted((int(s), int(e)) for s, e in intervals))
    for start, end in hours:
        if not 0 <= start < end <= 1440:
            raise BusinessTimeError(
                f"Working hours {label}: {start}-{end} must satisfy 0 <= start < end <= 1440 minutes.",
                code="hours_range_order",
                value=f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}",
            )
    for (_, end), (start, _) in itertools.pairwise(hours):
        if start <= end:
            raise BusinessTimeError(
                f"Working hours {label}: intervals overlap or touch; merge them.",
                code="hours_overlap",
                value=str(label),
            )
    return hours


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours per weekday (Monday = 0), a time zone, closed and working dates.

    ``makeup_hours`` are the hours of a working date whose weekday normally has none (a Saturday
    made a working day); by default the hours of the first weekday that has any.
    """

    time_zone: str
    weekly: tuple[Hours, ...]
    closed: frozenset[date] = frozenset()
    working: frozenset[date] = frozenset()
    makeup_hours: Hours | None = None
    _tz: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        try:
            tz = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise BusinessTimeError(f"Unknown time zone {self.time_zone!r}.") from exc
        object.__setattr__(self, "_tz", tz)
        if len(self.weekly) != 7:
            raise BusinessTimeError("Working hours need one entry per weekday (7).")
        weekly = tuple(_check_hours(h, label=f"of weekday {i}") for i, h in enumerate(self.weekly))
        if not any(weekly):
            raise BusinessTimeError("A calendar needs working hours on at least one weekday.")
        object.__setattr__(self, "weekly", weekly)
        if self.makeup_hours is not None:
            object.__setattr__(
                self, "makeup_hours", _check_hours(self.makeup_hours, label="of make-up days")
            )

    @classmethod
    def build(
        cls,
        *,
        time_zone: str,
        weekly: Mapping[int, Iterable[Sequence[int]]],
        closed: Iterable[date] = (),
        working: Iterable[date] = (),
        makeup_hours: Iterable[Sequence[int]] | None = None,
    ) -> BusinessCalendar:
        """From a {weekday: [(start, end), ...]} mapping; missing weekdays have no hours."""
        bad = [k for k in weekly if k not in range(7)]
        if bad:
            raise BusinessTimeError(f"Weekdays are 0 (Monday) to 6 (Sunday), not {bad}.")
        return cls(
            time_zone=time_zone,
            weekly=tuple(_pairs(weekly.get(d, ())) for d in range(7)),
            closed=frozenset(closed),
            working=frozenset(working),
            makeup_hours=None if makeup_hours is None else _pairs(makeup_hours),
        )

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    def hours_on(self, day: date) -> Hours:
        """The working intervals of a local date."""
        if day in self.closed:
            return ()
        own = self.weekly[day.weekday()]
        if day in self.working and not own:
            return self.makeup_hours or next(h for h in self.weekly if h)
        return own


def _pairs(intervals: Iterable[Sequence[int]]) -> Hours:
    return tuple((int(s), int(e)) for s, e in intervals)


def _to_second(at: datetime) -> int:
    if at.tzinfo is None:
        raise BusinessTimeError("Business time needs timezone-aware datetimes.")
    return int(at.timestamp() // 1)


def _from_second(second: int) -> datetime:
    return datetime.fromtimestamp(second, UTC)


class Timeline:
    """The working intervals of a calendar over a span of local years, as UTC epoch seconds.

    ``starts[i] < ends[i] <= starts[i+1]``; ``before[i]`` is the working time before interval i.
    Use ``for_span`` through a ``Clock`` rather than building one per call.
    """

    def __init__(self, calendar: BusinessCalendar, first_year: int, last_year: int) -> None:
        self.calendar = calendar
        self.first_year, self.last_year = first_year, last_year
        tz = calendar.tz
        lo = int(datetime(first_year, 1, 1, tzinfo=tz).timestamp())
        hi = int(datetime(last_year + 1, 1, 1, tzinfo=tz).timestamp())
        self.lo, self.hi = lo, hi
        pieces: list[tuple[int, int]] = []
        for seg_lo, seg_hi, offset in _offset_segments(tz, lo, hi):
            first_day = (seg_lo + offset) // DAY
            last_day = (seg_hi - 1 + offset) // DAY
            for day_number in range(first_day, last_day + 1):
                day = date.fromordinal(day_number + _EPOCH_ORDINAL)
                base = day_number * DAY - offset
                for start, end in calendar.hours_on(day):
                    s = max(base + start * 60, seg_lo)
                    e = min(base + end * 60, seg_hi)
                    if s < e:
                        pieces.append((s, e))
        pieces.sort()
        merged: list[list[int]] = []
        for s, e in pieces:
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        array = np.array(merged, dtype=np.int64).reshape(-1, 2)
        self.starts: Int64Array = np.ascontiguousarray(array[:, 0])
        self.ends: Int64Array = np.ascontiguousarray(array[:, 1])
        lengths = self.ends - self.starts
        self.after: Int64Array = np.cumsum(lengths)
        self.before: Int64Array = self.after - lengths

    @cached_property
    def total(self) -> int:
        return int(self.after[-1]) if len(self.after) else 0

    def covers(self, lo: int, hi: int) -> bool:
        return self.lo <= lo and hi < self.hi

    def worked(self, at: Int64Array) -> Int64Array:
        """Working seconds from the timeline's start up to each instant."""
        i = np.searchsorted(self.starts, at, side="right") - 1
        safe = np.maximum(i, 0)
        inside = np.clip(at - self.starts[safe], 0, self.ends[safe] - self.starts[safe])
        return np.where(i >= 0, self.before[safe] + inside, 0)

    def instant(self, worked: Int64Array) -> Int64Array:
        """The earliest instant by which ``worked`` (> 0) working seconds have passed; -1 past the
        timeline's end."""
        j = np.searchsorted(self.after, worked, side="left")
        safe = np.minimum(j, len(self.after) - 1)
        found = self.starts[safe] + (worked - self.before[safe])
        return np.where(j < len(self.after), found, -1)


def _offset_at(tz: ZoneInfo, second: int) -> int:
    offset = datetime.fromtimestamp(second, tz).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


def _offset_segments(tz: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """[lo, hi) cut where the UTC offset changes: (start, end, offset seconds) each."""
    segments = []
    start, offset = lo, _offset_at(tz, lo)
    probe = lo
    while probe < hi:
        last = min(probe + _PROBE, hi - 1)
        if _offset_at(tz, last) == offset:
            probe = last + 1
            continue
        a, b = probe, last  # offset(a) is the current one, offset(b) is not: find the first change
        while b - a > 1:
            mid = (a + b) // 2
            if _offset_at(tz, mid) == offset:
                a = mid
            else:
                b = mid
        segments.append((start, b, offset))
        start, offset, probe = b, _offset_at(tz, b), b
    segments.append((start, hi, offset))
    return segments


class Clock:
    """Business-time arithmetic on one calendar; compiles and widens its timeline as needed.

    Thread-safe: a widened timeline replaces the old one whole.
    """

    _SPAN_YEARS = 2

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.calendar = calendar
        self._lock = Lock()
        self._timeline: Timeline | None = None

    def timeline(self, lo: int, hi: int) -> Timeline:
        """A timeline covering the instants [lo, hi]."""
        current = self._timeline
        if current is not None and current.covers(lo, hi):
            return current
        with self._lock:
            current = self._timeline
            if current is not None and current.covers(lo, hi):
                return current
            tz = self.calendar.tz
            first = datetime.fromtimestamp(lo, tz).year - 1
            last = datetime.fromtimestamp(hi, tz).year + 1
            if current is not None:
                first, last = min(first, current.first_year), max(last, current.last_year)
            self._timeline = Timeline(self.calendar, first, max(last, first + self._SPAN_YEARS))
            return self._timeline

    # --- vectorised ----------------------------------------------------------------------------

    def add_many(self, starts: Int64Array, seconds: Int64Array) -> Int64Array:
        """Per row, the instant ``seconds`` of working time after ``starts`` (epoch seconds).

        Zero (or negative) seconds give the start itself; a positive amount ends at the end of
        the working second that uses it up (a target using up a day ends at its closing time).
        """
        starts = np.asarray(starts, dtype=np.int64)
        seconds = np.asarray(seconds, dtype=np.int64)
        if starts.size == 0:
            return starts.copy()
        lo, hi = int(starts.min()), int(starts.max())
        need = int(seconds.max(initial=0))
        # Enough span that a target fits: widen until every result lies inside the timeline.
        span = max(need * 4, 30 * DAY)
        while True:
            line = self.timeline(lo, hi + span)
            target = line.worked(starts) + np.maximum(seconds, 0)
            result = line.instant(np.maximum(target, 1))
            if (result >= 0).all():
                return np.where(seconds > 0, result, starts)
            span *= 2

    def between_many(self, starts: Int64Array, ends: Int64Array) -> Int64Array:
        """Working seconds in [start, end) per row (0 when end <= start)."""
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.asarray(ends, dtype=np.int64)
        if starts.size == 0:
            return starts.copy()
        line = self.timeline(int(min(starts.min(), ends.min())), int(max(starts.max(), ends.max())))
        return np.maximum(line.worked(ends) - line.worked(starts), 0)

    # --- one at a time ----------------------------------------------------------------------------

    def add(self, start: datetime, seconds: int) -> datetime:
        """``seconds`` of working time after ``start`` (see ``add_many``)."""
        result = self.add_many(np.array([_to_second(start)]), np.array([seconds]))
        return _from_second(int(result[0]))

    def between(self, start: datetime, end: datetime) -> int:
        """Working seconds in [start, end)."""
        found = self.between_many(np.array([_to_second(start)]), np.array([_to_second(end)]))
        return int(found[0])

    def is_working(self, at: datetime) -> bool:
        second = _to_second(at)
        return self.between_many(np.array([second]), np.array([second + 1]))[0] == 1

    def next_working(self, at: datetime) -> datetime:
        """``at`` if it is working time, else the next moment working time begins."""
        second = _to_second(at)
        after = self.add_many(np.array([second]), np.array([1]))[0]
        return _from_second(int(after) - 1)
