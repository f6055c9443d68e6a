"""Customer portal pages, mounted at /portal/ under the ``portal`` namespace."""

from django.urls import path

from serviceloop.cases.views import portal, search
from serviceloop.cases.views._common import attachment_download

urlpatterns = [
    path("signup/", portal.signup, name="signup"),
    path("signup/sent/", portal.signup_sent, name="signup-sent"),
    path("signup/confirm/<str:token>/", portal.signup_confirm, name="signup-confirm"),
    path("", portal.case_list_view, name="case-list"),
    path("cases/new/", portal.case_new, name="case-new"),
    path("search/", search.portal_search, name="search"),
    path("cases/<str:number>/", portal.case_detail, name="case-detail"),
    path("cases/<str:number>/reply/", portal.case_reply, name="case-reply"),
    path("attachments/<int:pk>/", attachment_download, name="attachment"),
]
