"""Evaluation URLs, included under ``/evaluation/`` with the namespace ``evaluation``."""

from django.urls import path

from serviceloop.evaluation import views

urlpatterns = [
    path("", views.evaluation_list_view, name="list"),
    path("run/", views.evaluation_run_view, name="run"),
    path("<int:pk>/", views.evaluation_detail_view, name="detail"),
    path("<int:pk>/units/<str:unit_key>/", views.evaluation_unit_view, name="unit"),
    path("<int:pk>/export.xlsx", views.evaluation_export_view, name="export"),
    path("indicators/", views.system_list_view, name="systems"),
    path("indicators/default/", views.system_create_default_view, name="system-default"),
    path("indicators/<int:pk>/", views.system_view, name="system"),
    path("indicators/<int:pk>/groups/<str:parent_id>/", views.group_view, name="group"),
    path("manual-scores/", views.manual_score_view, name="manual-scores"),
    path("qa/", views.qa_view, name="qa"),
    path("qa/reviews/<int:pk>/", views.qa_review_view, name="qa-review"),
    path("me/", views.scorecard_view, name="my-scorecard"),
    path("agents/<str:username>/", views.scorecard_view, name="scorecard"),
]
