"""Extra top-level sections of the process YAML that other apps own (SLA policies, quality
standards), plugged in here so that ``processes`` never imports them.

An app registers a :class:`DefinitionSection` in its ``AppConfig.ready()``. The process services
then:

- on import, hand the section's raw value to ``read``, which checks it (against the definition and
  the database) and returns plain JSON values, or problems ``{"path", "message", "code"}``; any
  problem refuses the whole import. The checked values are kept on the draft version
  (``ProcessVersion.sections``);
- on publish, ``read`` the kept values again (a team may have gone meanwhile) and ``apply`` them,
  in the publishing transaction: a draft never changes what runs;
- on export, write ``export(version)`` for the published version (what runs now, edits in the web
  UI included) and the kept values for any other version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from serviceloop.accounts.models import User
    from serviceloop.analytics.process_model import ProcessSpec
    from serviceloop.processes.models import ProcessVersion

__all__ = ["DefinitionSection", "register_section", "registered_sections", "section_keys"]


class DefinitionSection(Protocol):
    """One top-level key of the process YAML owned by another app."""

    key: str
    label: Any  # a (lazy) heading for the version diff, e.g. "SLA policies"

    def item_key(self, item: Any) -> str:
        """What identifies one entry of the section across versions (a policy's name)."""
        ...

    def read(self, raw: Any, *, spec: ProcessSpec, path: str) -> tuple[Any, list[dict[str, str]]]:
        """The section checked and normalised to plain values, and every problem found."""
        ...

    def export(self, version: ProcessVersion) -> Any:
        """What applies to ``version``'s process now, in the form ``read`` returns."""
        ...

    def apply(self, *, version: ProcessVersion, value: Any, actor: User | None) -> None:
        """Make ``value`` (from ``read``) what applies to the process ``version`` publishes."""
        ...


_SECTIONS: dict[str, DefinitionSection] = {}


def register_section(section: DefinitionSection) -> None:
    """Add (or replace, on a reload) the owner of ``section.key``."""
    _SECTIONS[section.key] = section


def registered_sections() -> Mapping[str, DefinitionSection]:
    return dict(_SECTIONS)


def section_keys() -> tuple[str, ...]:
    return tuple(_SECTIONS)
