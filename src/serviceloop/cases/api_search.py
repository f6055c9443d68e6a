"""``GET /api/cases/search?q=``: full-text search over the cases the caller may see.

Mounted before the cases router, so ``/api/cases/search`` is this endpoint and not the case
numbered "search". The ranking, the bound on the work and the visibility rules are the
selector's (:mod:`serviceloop.cases.search`); this module only reads ``q`` and shapes the answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from serviceloop.cases.schemas import ErrorOut, InputSchema
from serviceloop.cases.search import CANDIDATES, case_text_search
from serviceloop.core.auth import api_auth

__all__ = ["CaseHitOut", "CaseSearchIn", "CaseSearchOut", "router"]

router = Router(auth=api_auth, tags=["cases"])


class CaseSearchIn(InputSchema):
    q: str = Field(
        ...,
        min_length=1,
        max_length=200,
        description=(
            "Words to find in titles, descriptions, replies and (staff only) internal notes, "
            "or a case number or customer e-mail address. Every word must match; Chinese is "
            "matched as the run of its characters (退款 finds 退款申请); other words of three or "
            "more letters also match the words they begin (refund finds refunds)."
        ),
    )
    limit: int = Field(20, ge=1, le=50, description="Cases to return (1-50).")


class CaseHitOut(Schema):
    number: str
    status: str
    source: str = Field(
        description="Where the best match is: title, description, public (a reply), internal "
        "(a note; never for customers) or exact (the case number or the customer's e-mail)."
    )
    title: str = Field(description="HTML: the title escaped, each match in <mark>.")
    snippet: str = Field(
        description="HTML: the matching text around the first match, escaped, each match in <mark>."
    )
    matches: int = Field(description="Matching texts of this case among those ranked.")
    at: datetime = Field(description="When the newest matching text was written.")


class CaseSearchOut(Schema):
    items: list[CaseHitOut]
    more: bool = Field(
        description=f"More matches exist than were ranked (the newest {CANDIDATES} matching "
        "cases and the newest {CANDIDATES} matching messages are): add a word to narrow."
    )


@router.get(
    "/search",
    response={200: CaseSearchOut, 401: ErrorOut, 422: ErrorOut},
    summary="Search cases",
)
def search_cases(request: HttpRequest, params: Query[CaseSearchIn]) -> dict[str, Any]:
    """Cases the caller may see whose text matches ``q``, best first: a word counts per
    occurrence (a title hit three times), then more matching messages, then the newest."""
    result = case_text_search(user=request.auth, query=params.q, limit=params.limit)  # type: ignore[attr-defined]
    return {
        "items": [
            {
                "number": hit.case.number,
                "status": hit.case.status,
                "source": hit.source,
                "title": str(hit.title),
                "snippet": str(hit.snippet),
                "matches": hit.hits,
                "at": hit.at,
            }
            for hit in result.hits
        ],
        "more": result.more,
    }
