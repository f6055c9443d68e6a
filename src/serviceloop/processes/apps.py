from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProcessesConfig(AppConfig):
    name = "serviceloop.processes"
    label = "processes"
    verbose_name = _("Service processes")

    def ready(self) -> None:
        from serviceloop.processes import signals  # noqa: F401  (connects the delete guards)
