"""Insights URLs, included under ``/insights/`` with the namespace ``insights``."""

from django.urls import path

from serviceloop.insights import prediction_views, views, whatif_views

urlpatterns = [
    path("", views.overview_view, name="dashboard"),
    path("process/", views.process_view, name="process"),
    path("process/map/", views.process_map_view, name="process-map"),
    path("bottlenecks/", views.performance_view, name="performance"),
    path("rework/", views.rework_view, name="rework"),
    path("variants/", views.variants_view, name="variants"),
    path("handovers/", views.handovers_view, name="handovers"),
    path("at-risk/", prediction_views.at_risk_view, name="at-risk"),
    path("what-if/", whatif_views.whatif_view, name="what-if"),
    path("what-if/<str:run_id>/", whatif_views.whatif_run_view, name="what-if-run"),
    path(
        "cases/<str:number>/prediction/",
        prediction_views.case_prediction_view,
        name="case-prediction",
    ),
]
