"""API schemas for processes, versions, stages and transitions."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

__all__ = [
    "ProcessImportIn",
    "ProcessOut",
    "StageOut",
    "TransitionOut",
    "VersionDetailOut",
    "VersionOut",
]


class VersionOut(Schema):
    id: int
    process_code: str = Field(..., alias="process.code")
    number: int
    status: str
    notes: str
    created_at: datetime
    published_at: datetime | None


class ProcessOut(Schema):
    id: int
    code: str
    name: str
    description: str
    is_default: bool
    versions: list[VersionOut]


class StageOut(Schema):
    id: int
    code: str
    name: str
    name_zh: str
    order: int
    team: str | None = Field(None, alias="responsible_team.code")
    role: str = Field(..., alias="responsible_role")
    skill: str | None = Field(None, alias="required_skill.code")
    norm: str
    time_standard_minutes: int | None
    checklist: list[str]
    required_fields: list[str]
    start: bool = Field(..., alias="is_start")
    end: bool = Field(..., alias="is_end")


class TransitionOut(Schema):
    id: int
    source: str = Field(..., alias="source.code")
    target: str = Field(..., alias="target.code")
    kind: str
    label: str


class VersionDetailOut(VersionOut):
    stages: list[StageOut]
    transitions: list[TransitionOut]


class ProcessImportIn(Schema):
    definition: str = Field(
        ..., min_length=1, max_length=512 * 1024, description="The process definition as YAML."
    )


class ProblemOut(Schema):
    path: str
    message: str


class ProblemsOut(Schema):
    detail: str
    problems: list[ProblemOut] = []
    fields: dict[str, list[str]] = {}
