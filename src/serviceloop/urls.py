"""Project URLs: each app owns its pages; the REST API lives under /api/."""

from django.contrib import admin
from django.urls import include, path

from serviceloop.api import api
from serviceloop.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("accounts/", include("serviceloop.accounts.urls")),
    path("processes/", include(("serviceloop.processes.urls", "processes"))),
    path("portal/", include(("serviceloop.cases.urls_portal", "portal"))),
    path("work/", include(("serviceloop.cases.urls_workspace", "workspace"))),
    path("insights/", include(("serviceloop.insights.urls", "insights"))),
    path("sla/", include(("serviceloop.sla.urls", "sla"))),
    path("evaluation/", include(("serviceloop.evaluation.urls", "evaluation"))),
    path("feedback/", include(("serviceloop.feedback.urls", "feedback"))),
    path("replies/", include(("serviceloop.replies.urls", "replies"))),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
