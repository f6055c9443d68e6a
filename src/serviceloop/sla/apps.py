from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "serviceloop.sla"
    label = "sla"
    verbose_name = _("Service standards (SLA)")

    def ready(self) -> None:
        from serviceloop.sla import signals  # noqa: F401  (calendar dates refresh the calendar)
