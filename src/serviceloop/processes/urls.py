from django.urls import path

from serviceloop.processes import views, views_designer

app_name = "processes"

urlpatterns = [
    path("", views.process_list_view, name="list"),
    path("import/", views.process_import_view, name="import"),
    path("new/", views_designer.process_create_view, name="create"),
    path("<int:pk>/", views.version_detail_view, name="version"),
    path("<int:pk>/export.yaml", views.version_export_view, name="export"),
    path("<int:pk>/publish/", views.version_publish_view, name="publish"),
    path(
        "<int:pk>/publish/confirm/",
        views_designer.version_publish_confirm_view,
        name="publish-confirm",
    ),
    path("<int:pk>/make-default/", views.process_set_default_view, name="make-default"),
    path("<int:pk>/retire/", views.version_retire_view, name="retire"),
    path("<int:pk>/new-draft/", views.version_new_draft_view, name="new-draft"),
    path("<int:pk>/design/", views_designer.version_design_view, name="design"),
    path("<int:pk>/design/stages/", views_designer.stage_create_view, name="stage-create"),
    path(
        "<int:pk>/design/transitions/",
        views_designer.transition_create_view,
        name="transition-create",
    ),
    path("stages/<int:pk>/", views_designer.stage_update_view, name="stage-update"),
    path("stages/<int:pk>/delete/", views_designer.stage_delete_view, name="stage-delete"),
    path("stages/<int:pk>/move/", views_designer.stage_move_view, name="stage-move"),
    path("transitions/<int:pk>/", views_designer.transition_update_view, name="transition-update"),
    path(
        "transitions/<int:pk>/delete/",
        views_designer.transition_delete_view,
        name="transition-delete",
    ),
]
