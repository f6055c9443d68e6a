"""How a source's columns map onto an event log: one value object for every reader.

``read_csv``, ``read_parquet``, ``read_xes``, ``from_polars``, ``from_arrow``, the coding step
and the CLI all take a :class:`ColumnMapping`; the readers also still accept its fields as
keyword arguments (``read_csv(path, case="Case ID")``), which override the mapping's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._schema import ACTIVITY, CASE_ID, RESOURCE, START_TIMESTAMP, TIMESTAMP
from .errors import InvalidParameterError

__all__ = ["ColumnMapping", "Duplicates"]

Duplicates = Literal["error", "keep", "drop"]
_DUPLICATES = ("error", "keep", "drop")


@dataclass(frozen=True)
class ColumnMapping:
    """Which column holds what, and how to read its values.

    Parameters
    ----------
    case, activity, timestamp
        Columns of the case id, the activity and the completion time.
    start_timestamp, resource, lifecycle
        Optional columns. With start times (a column, or ``lifecycle`` 'start' rows paired
        with their 'complete' rows) waiting and processing time are told apart.
    attributes
        Extra columns to keep (team, channel, ...); ``None`` keeps all the others.
    timestamp_format
        A strftime format (``"%d/%m/%Y %H:%M"``); ``None`` detects it from the data.
    day_first
        When detecting, read ``03/04/2024`` as 3 April.
    timezone
        Zone of timestamps written without an offset; everything is stored in UTC.
    duplicates
        ``"error"`` refuses rows repeating case, activity, timestamp and resource; ``"keep"``
        keeps them (as pm4py does); ``"drop"`` keeps the first.

    Examples
    --------
    >>> m = ColumnMapping(case="Case ID", activity="Activity")
    >>> m.with_options(timestamp="Complete Timestamp").mapped
    ('Case ID', 'Activity', 'Complete Timestamp')
    >>> ColumnMapping.xes().case
    'case:concept:name'
    """

    case: str = CASE_ID
    activity: str = ACTIVITY
    timestamp: str = TIMESTAMP
    start_timestamp: str | None = None
    resource: str | None = None
    lifecycle: str | None = None
    attributes: tuple[str, ...] | None = field(default=None)
    timestamp_format: str | None = None
    day_first: bool = False
    timezone: str = "UTC"
    duplicates: Duplicates = "error"

    def __post_init__(self) -> None:
        if self.attributes is not None and not isinstance(self.attributes, tuple):
            if isinstance(self.attributes, str):
                raise InvalidParameterError(
                    f"attributes must be a list of column names, not the string {self.attributes!r}"
                )
            object.__setattr__(self, "attributes", tuple(self.attributes))
        if self.duplicates not in _DUPLICATES:
            raise InvalidParameterError(
                f"duplicates must be 'error', 'keep' or 'drop', not {self.duplicates!r}"
            )
        for name in ("case", "activity", "timestamp"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise InvalidParameterError(
                    f"{name} must name a column, not {getattr(self, name)!r}"
                )

    @classmethod
    def xes(cls) -> ColumnMapping:
        """The XES standard's keys (resource and lifecycle are used when the log has them)."""
        return cls(
            case="case:concept:name",
            activity="concept:name",
            timestamp="time:timestamp",
            resource="org:resource",
            lifecycle="lifecycle:transition",
        )

    @property
    def mapped(self) -> tuple[str, ...]:
        """The mapped columns, in order: case, activity, timestamp, then the optional ones."""
        optional = (self.start_timestamp, self.resource, self.lifecycle)
        return (self.case, self.activity, self.timestamp, *(c for c in optional if c))

    def with_options(self, **options: Any) -> ColumnMapping:
        """A copy with some fields replaced; unknown names are refused with the valid ones."""
        if not options:
            return self
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidParameterError(
                f"unknown option(s) {', '.join(map(repr, unknown))}; a column mapping has "
                f"{', '.join(sorted(known))}"
            )
        return dataclasses.replace(self, **options)

    def canonical_defaults(self, columns: Sequence[str]) -> ColumnMapping:
        """With the canonical case column, pick up ``resource`` and ``start_timestamp`` columns
        by their canonical names when present (the live case log arrives this way)."""
        if self.case != CASE_ID:
            return self
        found: dict[str, Any] = {}
        if self.resource is None and RESOURCE in columns:
            found["resource"] = RESOURCE
        if self.start_timestamp is None and START_TIMESTAMP in columns:
            found["start_timestamp"] = START_TIMESTAMP
        return self.with_options(**found)


def resolve(
    mapping: ColumnMapping | Mapping[str, Any] | None,
    options: Mapping[str, Any],
    *,
    base: ColumnMapping | None = None,
) -> ColumnMapping:
    """The mapping a reader uses: ``mapping`` (or ``base``), then keyword ``options`` on top."""
    if mapping is None:
        start = base or ColumnMapping()
    elif isinstance(mapping, ColumnMapping):
        start = mapping
    else:
        start = (base or ColumnMapping()).with_options(**mapping)
    return start.with_options(**options)
