"""The one NinjaAPI of the project; each app contributes a Router. OpenAPI at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from serviceloop.core.api_errors import install_error_handlers
from serviceloop.core.docs import OfflineSwagger


class ServiceLoopAPI(NinjaAPI):
    """Builds the OpenAPI schema once per process: it takes 60-70 ms and cannot change while
    the process runs, yet ninja rebuilt it for every /api/openapi.json (and /api/docs load)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[str, OpenAPISchema] = {}

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        prefix = self.get_root_path(path_params or {}) if path_prefix is None else path_prefix
        if prefix not in self._schemas:
            self._schemas[prefix] = super().get_openapi_schema(path_prefix=prefix)
        return self._schemas[prefix]


api = ServiceLoopAPI(
    title="ServiceLoop API",
    version="1",
    description="Cases, transitions, messages and the case event log.",
    docs_url="/docs",
    docs=OfflineSwagger(),
    openapi_url="/openapi.json",
    urls_namespace="api",
)
install_error_handlers(api)
api.add_router("/cases", "serviceloop.cases.api_search.router")  # before /cases/{number}
api.add_router("/cases", "serviceloop.cases.api.router")
api.add_router("/events", "serviceloop.cases.api.events_router")
api.add_router("/processes", "serviceloop.processes.api.router")
api.add_router("/sla", "serviceloop.sla.api.router")
api.add_router("/evaluations", "serviceloop.evaluation.api.router")
api.add_router("/predictions", "serviceloop.insights.prediction_api.router")
