from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "serviceloop.cases"
    label = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from serviceloop.cases.search_text import register_sqlite_function

        # SQLite's search triggers (migration 0009) call a Python function on every write.
        connection_created.connect(register_sqlite_function, dispatch_uid="cases-search-text")
