"""Upload housekeeping. A file is written to storage before its row commits; if the transaction
then rolls back (a later error, a client disconnect), the file stays behind, unreachable because
its name is random. This sweep deletes such orphans once they are old enough that no transaction
writing them can still be open."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings

from serviceloop.cases.models import Attachment

__all__ = ["attachment_orphans_delete"]


def attachment_orphans_delete(
    *, older_than: timedelta = timedelta(hours=1), dry_run: bool = False
) -> list[str]:
    """Delete files under ``MEDIA_ROOT/cases/`` that no Attachment row names; return their names."""
    root = Path(settings.MEDIA_ROOT)
    folder = root / "cases"
    if not folder.is_dir():
        return []
    cutoff = time.time() - older_than.total_seconds()
    candidates = {
        path.relative_to(root).as_posix(): path
        for path in folder.glob("*/*")
        if path.is_file() and path.stat().st_mtime < cutoff
    }
    if not candidates:
        return []
    known: set[str] = set()
    names = list(candidates)
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        known.update(Attachment.objects.filter(file__in=chunk).values_list("file", flat=True))
    orphans = sorted(set(candidates) - known)
    if not dry_run:
        for name in orphans:
            candidates[name].unlink(missing_ok=True)
    return orphans
