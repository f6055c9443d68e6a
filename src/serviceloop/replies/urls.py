from django.urls import path

from serviceloop.replies import views

app_name = "replies"

urlpatterns = [
    path("", views.reply_template_list_view, name="list"),
    path("new/", views.reply_template_create_view, name="create"),
    path("<int:pk>/", views.reply_template_edit_view, name="edit"),
    path("<int:pk>/delete/", views.reply_template_delete_view, name="delete"),
    path("case/<str:number>/", views.reply_picker_view, name="picker"),
    path("case/<str:number>/preview/", views.reply_preview_view, name="preview"),
    path("case/<str:number>/apply/", views.reply_apply_view, name="apply"),
]
