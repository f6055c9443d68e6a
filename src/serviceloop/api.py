"""The one NinjaAPI of the project; each app contributes a Router. OpenAPI at /api/openapi.json."""

from __future__ import annotations

from ninja import NinjaAPI

from serviceloop.core.api_errors import install_error_handlers
from serviceloop.core.docs import OfflineSwagger

api = NinjaAPI(
    title="ServiceLoop API",
    version="1",
    description="Cases, transitions, messages and the case event log.",
    docs_url="/docs",
    docs=OfflineSwagger(),
    openapi_url="/openapi.json",
    urls_namespace="api",
)
install_error_handlers(api)
api.add_router("/cases", "serviceloop.cases.api.router")
api.add_router("/events", "serviceloop.cases.api.events_router")
api.add_router("/processes", "serviceloop.processes.api.router")
