"""The /api/docs page: Swagger UI from ninja's bundled static files, working offline.

Differences from ninja's default: the online spec validator (validator.swagger.io) is switched off,
and the page always carries the CSRF token, so "Try it out" works with the browser session too.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Swagger
from ninja.openapi.docs import render_template

__all__ = ["OfflineSwagger"]


class OfflineSwagger(Swagger):
    def __init__(self) -> None:
        super().__init__(settings={"validatorUrl": None, "persistAuthorization": False})

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        context = {"swagger_settings": json.dumps(settings), "api": api, "add_csrf": True}
        return render_template(request, self.template, self.template_cdn, context)
