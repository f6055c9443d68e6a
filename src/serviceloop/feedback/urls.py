"""Feedback URLs, included under ``/feedback/`` with the namespace ``feedback``."""

from django.urls import path

from serviceloop.feedback import views

urlpatterns = [
    path("", views.results_view, name="results"),
    path("mine/", views.my_surveys_view, name="mine"),
    path("complaints/", views.complaints_view, name="complaints"),
    path("complaints/record/", views.complaint_record_view, name="complaint-record"),
    path("complaints/<int:pk>/root-cause/", views.complaint_root_cause_view, name="root-cause"),
    path("s/<str:token>/", views.answer_view, name="answer"),
]
