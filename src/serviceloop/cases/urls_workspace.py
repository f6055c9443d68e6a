"""Agent workspace pages, mounted at /work/ under the ``workspace`` namespace."""

from django.urls import path

from serviceloop.cases.views import bulk, saved, search, workspace
from serviceloop.cases.views._common import attachment_download

urlpatterns = [
    path("", workspace.queue, name="queue"),
    path("bulk/", bulk.queue_bulk_view, name="queue-bulk"),
    path("search/", search.workspace_search, name="search"),
    path("views/", saved.saved_view_save_view, name="view-save"),
    path("views/<int:pk>/delete/", saved.saved_view_delete_view, name="view-delete"),
    path("cases/<str:number>/", workspace.case_detail, name="case-detail"),
    path("cases/<str:number>/transition/", workspace.case_transition_view, name="case-transition"),
    path("cases/<str:number>/checklist/", workspace.case_checklist, name="case-checklist"),
    path("cases/<str:number>/reply/", workspace.case_message, {"kind": "reply"}, name="case-reply"),
    path("cases/<str:number>/note/", workspace.case_message, {"kind": "note"}, name="case-note"),
    path("cases/<str:number>/assign/", workspace.case_assign_view, name="case-assign"),
    path("cases/<str:number>/status/", workspace.case_status_view, name="case-status"),
    path("attachments/<int:pk>/", attachment_download, name="attachment"),
]
