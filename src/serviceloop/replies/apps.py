from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RepliesConfig(AppConfig):
    name = "serviceloop.replies"
    verbose_name = _("Standard replies")
