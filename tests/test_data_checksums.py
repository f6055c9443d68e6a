"""The real logs in ``tests/data`` are the published files, byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
CHECKSUMS = {
    "helpdesk_full.csv": "31024fa6da0a35578643d50f2bea6e90d5ce97628b64851e271b521f005eef1c",
    "helpdesk_tax2017.csv": "1306e06414481a1debd845ea760b5ce8331d087ddc67d7f7ec300b4bea3f41b7",
}


@pytest.mark.parametrize("name", sorted(CHECKSUMS))
def test_real_log_matches_its_published_checksum(name: str) -> None:
    digest = hashlib.sha256((DATA / name).read_bytes()).hexdigest()
    assert digest == CHECKSUMS[name]
