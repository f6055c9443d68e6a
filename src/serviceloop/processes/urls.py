from django.urls import path

from serviceloop.processes import views

app_name = "processes"

urlpatterns = [
    path("", views.process_list_view, name="list"),
    path("import/", views.process_import_view, name="import"),
    path("<int:pk>/", views.version_detail_view, name="version"),
    path("<int:pk>/export.yaml", views.version_export_view, name="export"),
    path("<int:pk>/publish/", views.version_publish_view, name="publish"),
    path("<int:pk>/retire/", views.version_retire_view, name="retire"),
    path("<int:pk>/new-draft/", views.version_new_draft_view, name="new-draft"),
]
