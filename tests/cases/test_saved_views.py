"""Saved queue views: per user, only the queue's parameters, shown as links on the queue."""

from __future__ import annotations

import pytest

from serviceloop.savedviews.models import SavedView

pytestmark = pytest.mark.django_db


def test_save_keeps_filters_and_sort_and_lists_it(client, world) -> None:
    client.force_login(world.front_agent)
    response = client.post(
        "/work/views/",
        {"name": "Urgent first", "query": "queue=team&priority=urgent&sort=due&evil=1&cursor=x"},
    )
    view = SavedView.objects.get()
    assert (view.user, view.query) == (world.front_agent, "queue=team&priority=urgent&sort=due")
    assert response["Location"] == "/work/?queue=team&priority=urgent&sort=due"
    body = client.get("/work/").content.decode()
    assert 'href="?queue=team&amp;priority=urgent&amp;sort=due">Urgent first</a>' in body


def test_the_address_of_the_page_wins_over_the_stale_form(client, world) -> None:
    client.force_login(world.front_agent)
    client.post(
        "/work/views/",
        {"name": "Mine", "query": "queue=mine"},
        HTTP_REFERER="http://testserver/work/?queue=overdue&sort=priority",
    )
    assert SavedView.objects.get().query == "queue=overdue&sort=priority"


def test_views_are_per_user(client, world) -> None:
    theirs = SavedView.objects.create(user=world.back_agent, name="Theirs", query="queue=team")
    client.force_login(world.front_agent)
    assert "Theirs" not in client.get("/work/").content.decode()
    client.post(f"/work/views/{theirs.pk}/delete/")
    assert SavedView.objects.filter(pk=theirs.pk).exists()


def test_empty_name_is_refused(client, world) -> None:
    client.force_login(world.front_agent)
    client.post("/work/views/", {"name": "  ", "query": "queue=team"})
    assert not SavedView.objects.exists()
