"""REST API for process design, mounted at /api/processes.

Staff read processes and versions; managers and admins import YAML and publish, retire or copy
versions. A refused definition answers 422 with ``problems`` (path and message for each).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Router

from serviceloop.accounts.permissions import can_design_processes, can_view_processes
from serviceloop.core.auth import api_auth
from serviceloop.core.exceptions import PermissionDeniedError, Problem
from serviceloop.core.idempotency import IdempotencyKey, JsonResult, idempotent
from serviceloop.processes.exceptions import PROCESS_CHANGE_FORBIDDEN, PROCESS_STAFF_ONLY
from serviceloop.processes.models import ProcessVersion, ServiceProcess
from serviceloop.processes.schemas import (
    ProblemsOut,
    ProcessImportIn,
    ProcessOut,
    VersionDetailOut,
    VersionOut,
)
from serviceloop.processes.selectors import process_list, process_version_get
from serviceloop.processes.services import (
    process_version_export,
    process_version_import,
    process_version_new_draft,
    process_version_publish,
    process_version_retire,
)

router = Router(auth=api_auth, tags=["processes"])


def _viewer(request: HttpRequest) -> None:
    if not can_view_processes(request.user):
        raise PermissionDeniedError(Problem(PROCESS_STAFF_ONLY))


def _designer(request: HttpRequest) -> None:
    if not can_design_processes(request.user):
        raise PermissionDeniedError(Problem(PROCESS_CHANGE_FORBIDDEN))


def _detail(version_id: int) -> ProcessVersion:
    try:
        return process_version_get(version_id)
    except ProcessVersion.DoesNotExist as exc:
        raise Http404 from exc  # the API answers 404 in its common error body


def _created(version: ProcessVersion) -> JsonResult:
    body = VersionDetailOut.from_orm(process_version_get(version.pk))
    return JsonResult.of(201, body, location=f"/api/processes/versions/{version.pk}")


@router.get("/", response={200: list[ProcessOut], 403: ProblemsOut})
def list_processes(request: HttpRequest) -> list[ServiceProcess]:
    _viewer(request)
    return list(process_list())


@router.get(
    "/versions/{version_id}", response={200: VersionDetailOut, 403: ProblemsOut, 404: ProblemsOut}
)
def get_version(request: HttpRequest, version_id: int) -> ProcessVersion:
    _viewer(request)
    return _detail(version_id)


@router.get(
    "/versions/{version_id}/yaml",
    response={200: str, 403: ProblemsOut, 404: ProblemsOut},
    openapi_extra={"responses": {200: {"content": {"application/yaml": {}}}}},
)
def export_version(request: HttpRequest, version_id: int) -> HttpResponse:
    _viewer(request)
    version = _detail(version_id)
    response = HttpResponse(
        process_version_export(version), content_type="application/yaml; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{version.process.code}-v{version.number}.yaml"'
    )
    return response


@router.post(
    "/import",
    response={201: VersionDetailOut, 403: ProblemsOut, 422: ProblemsOut},
    summary="Import a YAML definition as a new draft version",
)
def import_version(
    request: HttpRequest, payload: ProcessImportIn, idempotency_key: IdempotencyKey = None
) -> HttpResponse:
    _designer(request)

    def produce() -> JsonResult:
        version = process_version_import(
            text=payload.definition,
            actor=request.user,  # type: ignore[arg-type]
            source="<api>",
        )
        return _created(version)

    return idempotent(request, idempotency_key, produce)


@router.post(
    "/versions/{version_id}/publish",
    response={
        200: VersionOut,
        403: ProblemsOut,
        404: ProblemsOut,
        409: ProblemsOut,
        422: ProblemsOut,
    },
)
def publish_version(request: HttpRequest, version_id: int) -> ProcessVersion:
    _designer(request)
    return process_version_publish(version=_detail(version_id), actor=request.user)  # type: ignore[arg-type]


@router.post(
    "/versions/{version_id}/retire",
    response={200: VersionOut, 403: ProblemsOut, 404: ProblemsOut, 409: ProblemsOut},
)
def retire_version(request: HttpRequest, version_id: int) -> ProcessVersion:
    _designer(request)
    return process_version_retire(version=_detail(version_id), actor=request.user)  # type: ignore[arg-type]


@router.post(
    "/versions/{version_id}/new-draft",
    response={201: VersionDetailOut, 403: ProblemsOut, 404: ProblemsOut},
    summary="Copy a version into a new draft",
)
def new_draft(
    request: HttpRequest, version_id: int, idempotency_key: IdempotencyKey = None
) -> HttpResponse:
    _designer(request)
    source = _detail(version_id)

    def produce() -> JsonResult:
        draft = process_version_new_draft(from_version=source, actor=request.user)  # type: ignore[arg-type]
        return _created(draft)

    return idempotent(request, idempotency_key, produce)
