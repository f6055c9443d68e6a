"""A tiny API used only by the core tests: one idempotent create and one authenticated read."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import path
from ninja import NinjaAPI, Router, Schema

from serviceloop.core.api_errors import install_error_handlers
from serviceloop.core.auth import api_auth
from serviceloop.core.exceptions import InvalidInputError
from serviceloop.core.idempotency import IdempotencyKey, JsonResult, idempotent
from serviceloop.customers.models import Organisation

api = NinjaAPI(urls_namespace="core-test-api", docs_url=None)
install_error_handlers(api)
router = Router(auth=api_auth)


class OrgIn(Schema):
    name: str


class OrgOut(Schema):
    id: int
    name: str


class WhoOut(Schema):
    username: str


class ErrorOut(Schema):
    detail: str


@router.get("/whoami", response={200: WhoOut, 401: ErrorOut})
def whoami(request: HttpRequest) -> WhoOut:
    return WhoOut(username=request.auth.username)  # type: ignore[attr-defined]


@router.post("/orgs", response={201: OrgOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut})
def org_create(request: HttpRequest, payload: OrgIn, idempotency_key: IdempotencyKey = None):
    def produce() -> JsonResult:
        if payload.name == "refuse":
            raise InvalidInputError.for_field("name", "Refused.")
        org = Organisation.objects.create(name=payload.name)
        return JsonResult.of(201, OrgOut(id=org.pk, name=org.name), f"/orgs/{org.pk}")

    return idempotent(request, idempotency_key, produce)


api.add_router("/", router)
urlpatterns = [path("api/", api.urls)]
