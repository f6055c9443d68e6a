"""SLA pages, included under ``/sla/`` with the namespace ``sla``."""

from django.urls import path

from serviceloop.sla import views

urlpatterns = [
    path("notifications/", views.notifications_view, name="notifications"),
    path("notifications/read/", views.notifications_read_view, name="notifications-read"),
]
