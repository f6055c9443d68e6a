"""``{% sla_clocks case %}``: the case's SLA clocks as a card on the workspace case page."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from serviceloop.cases.models import Case
from serviceloop.sla.choices import Metric
from serviceloop.sla.selectors import case_clock_views

register = template.Library()


@register.inclusion_tag("sla/partials/case_clocks.html")
def sla_clocks(case: Case) -> dict[str, Any]:
    clocks = case_clock_views(case, now=timezone.now())
    labels = dict(Metric.choices)
    for clock in clocks:
        clock["label"] = labels.get(clock["metric"], clock["metric"])
        clock["share"] = min(
            100, round(100 * clock["used_minutes"] / max(clock["target_minutes"], 1))
        )
    return {"clocks": clocks}


@register.inclusion_tag("sla/partials/notifications_link.html", takes_context=True)
def sla_notifications_link(context: dict[str, Any]) -> dict[str, Any]:
    """The nav links: the live page for those who may watch it (managers, team leads), the
    notifications page with the unread count (one indexed COUNT)."""
    from serviceloop.sla.live import live_scope
    from serviceloop.sla.models import Notification

    user = context.get("user")
    unread = Notification.objects.filter(recipient=user, read_at=None).count() if user else 0
    return {"unread": unread, "live": user is not None and live_scope(user) is not None}
