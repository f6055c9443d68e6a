from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "serviceloop.core"
    label = "core"
    verbose_name = "Core"
