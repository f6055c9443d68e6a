from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "serviceloop.sla"
    label = "sla"
    verbose_name = _("Service standards (SLA)")

    def ready(self) -> None:
        from serviceloop.processes.sections import register_section
        from serviceloop.sla import signals  # noqa: F401  (calendar dates refresh the calendar)
        from serviceloop.sla.process_yaml import PolicySection, QualitySection

        register_section(PolicySection())  # the process YAML carries the SLA policies
        register_section(QualitySection())  # ...and the quality standards
