"""The processes that ship with ServiceLoop: the standard service process (the default), the
complaint process and the technical-support process, each a YAML file in ``processes/defaults``.

Installed the way the standard one always was (the demo loader calls this): imported, published,
and kept as they are when a published version already exists, so a re-run never adds versions.
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from serviceloop.accounts.models import Skill, Team, User
from serviceloop.analytics.process_model import load_process_yaml
from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.models import ProcessVersion, ServiceProcess
from serviceloop.processes.services import (
    DEFAULT_PROCESS_PATH,
    SHIPPED_TEAM_NAMES_ZH,
    process_default_install,
    process_version_import,
    process_version_publish,
    team_defaults,
)

__all__ = [
    "COMPLAINT_PROCESS_PATH",
    "SHIPPED_PROCESS_PATHS",
    "TECHNICAL_SUPPORT_PROCESS_PATH",
    "process_shipped_install",
]

_DEFAULTS = DEFAULT_PROCESS_PATH.parent
COMPLAINT_PROCESS_PATH = _DEFAULTS / "complaint.yaml"
TECHNICAL_SUPPORT_PROCESS_PATH = _DEFAULTS / "technical-support.yaml"
SHIPPED_PROCESS_PATHS = (
    DEFAULT_PROCESS_PATH,
    COMPLAINT_PROCESS_PATH,
    TECHNICAL_SUPPORT_PROCESS_PATH,
)


def _install_published(path: Path, actor: User | None) -> ProcessVersion:
    spec = load_process_yaml(path)
    process = ServiceProcess.objects.select_for_update().filter(code=spec.code).first()
    if process is not None:
        live = process.versions.filter(status=VersionStatus.PUBLISHED).order_by("-number").first()
        if live is not None:
            return live
    for code in {s.team for s in spec.stages if s.team}:
        Team.objects.get_or_create(code=code, defaults=team_defaults(code))
    for code in {s.skill for s in spec.stages if s.skill}:
        Skill.objects.get_or_create(
            code=code, defaults={"name": code.replace("-", " ").capitalize()}
        )
    version = process_version_import(text=path.read_text(encoding="utf-8"), actor=actor)
    return process_version_publish(version=version, actor=actor)


@transaction.atomic
def process_shipped_install(*, actor: User | None = None) -> dict[str, ProcessVersion]:
    """Install and publish the shipped processes (the standard one as default); safe to run again.

    Returns the live version of each, by process code.
    """
    standard = process_default_install(actor=actor)
    versions = {standard.process.code: standard}
    for path in SHIPPED_PROCESS_PATHS[1:]:
        version = _install_published(path, actor)
        versions[version.process.code] = version
    for path in SHIPPED_PROCESS_PATHS:  # installed before the files had Chinese names
        spec = load_process_yaml(path)  # an admin's own Chinese name is kept
        ServiceProcess.objects.filter(code=spec.code, name_zh="").update(name_zh=spec.name_zh)
    for code, name_zh in SHIPPED_TEAM_NAMES_ZH.items():  # likewise a team's
        Team.objects.filter(code=code, name_zh="").update(name_zh=name_zh)
    return versions
