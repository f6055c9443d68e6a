"""Column names used everywhere: the canonical input names and the coded internal ones."""

from __future__ import annotations

__all__ = ["A2", "CANONICAL", "R2", "S2", "T2", "US", "A", "C", "I", "R", "S", "T"]

# Canonical names of an event log handed to the library (live DB, Arrow, Polars).
CASE_ID, ACTIVITY, TIMESTAMP, START_TIMESTAMP, RESOURCE = (
    "case_id",
    "activity",
    "timestamp",
    "start_timestamp",
    "resource",
)
CANONICAL = (CASE_ID, ACTIVITY, TIMESTAMP, START_TIMESTAMP, RESOURCE)

# Coded event table: one row per event, sorted once by (C, T, I).
C = "__case"  # case code (first appearance order)
A = "__act"  # activity code (index into the sorted activity names)
T = "__ts"  # completion time, UTC epoch microseconds (Int64)
S = "__start"  # start time, UTC epoch microseconds (Int64), optional
R = "__res"  # resource code, optional
I = "__row"  # noqa: E741  file order (0-based), the last sort key: ties keep file order
# Columns of the "next event in the same case" added by the engine's successor step.
A2, T2, S2, R2 = "__act2", "__ts2", "__start2", "__res2"
US = 1_000_000  # microseconds per second
