"""The orphan sweep deletes only old files that no attachment row names."""

from __future__ import annotations

import os
import time
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from serviceloop.cases.services import attachment_add
from serviceloop.cases.services.maintenance import attachment_orphans_delete
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def _age(path, hours):
    old = time.time() - hours * 3600
    os.utime(path, (old, old))


def test_sweep_deletes_old_unreferenced_files_only(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = CaseFactory()
    kept = attachment_add(
        case=case, uploaded_by=world.manager, file=SimpleUploadedFile("a.txt", b"kept\n")
    )
    folder = tmp_path / "cases" / str(case.pk)
    orphan = folder / "0123456789abcdef"
    orphan.write_bytes(b"left by a rollback")
    fresh_orphan = folder / "fedcba9876543210"
    fresh_orphan.write_bytes(b"its transaction may still be open")
    _age(orphan, 2)
    _age(kept.file.path, 2)

    assert attachment_orphans_delete(dry_run=True) == [f"cases/{case.pk}/0123456789abcdef"]
    assert orphan.exists()
    out = StringIO()
    call_command("attachments_sweep", stdout=out)
    assert "1 orphaned file(s) deleted." in out.getvalue()
    assert not orphan.exists()
    assert fresh_orphan.exists() and os.path.exists(kept.file.path)


def test_sweep_without_uploads_does_nothing(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    assert attachment_orphans_delete() == []
