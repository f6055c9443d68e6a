"""The live page names teams and stages in the reader's language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceloop.accounts.models import Team
from serviceloop.sla.sweep import sla_sweep
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def test_a_chinese_reader_sees_chinese_team_and_stage_names(client, world, sla):
    Team.objects.filter(pk=world.front.pk).update(name="Front desk", name_zh="前台服务组")
    CaseFactory(at=timezone.now() - timedelta(days=2))  # overdue: shows in every panel
    sla_sweep()
    client.force_login(world.manager)
    client.cookies["django_language"] = "zh-hans"
    html = client.get(reverse("sla:live-panels")).content.decode()
    assert "前台服务组" in html and "受理" in html and "Front desk" not in html
    client.cookies["django_language"] = "en"
    html = client.get(reverse("sla:live-panels")).content.decode()
    assert "Front desk" in html and "前台服务组" not in html
