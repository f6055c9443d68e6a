"""SLA pages, included under ``/sla/`` with the namespace ``sla``."""

from django.urls import path

from serviceloop.sla import views

urlpatterns = [
    path("live/", views.live_view, name="live"),
    path("live/panels/", views.live_panels_view, name="live-panels"),
    path("notifications/", views.notifications_view, name="notifications"),
    path("notifications/read/", views.notifications_read_view, name="notifications-read"),
]
