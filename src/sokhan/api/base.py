"""``SokhanAPI``: a NinjaAPI whose every URL answers in the one error format and reports rate limits."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, path, re_path
from django.utils.translation import gettext as _
from ninja import NinjaAPI

from sokhan.api.docs import LocalSwagger, docs_asset
from sokhan.api.errors import error_response, install_error_handlers, not_allowed, not_found_view
from sokhan.api.ratelimit import RateState

View = Callable[..., HttpResponseBase]


def _finish(view: View) -> View:
    """Wrap a ninja view: JSON 405s (ninja answers those in plain text) and rate-limit headers."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = view(request, *args, **kwargs)
        except Http404:  # ninja's API-root view raises it outside the exception handlers
            response = error_response(404, "not_found", _("Not found."))
        if isinstance(response, HttpResponseNotAllowed):
            response = not_allowed(response["Allow"])
        rate: RateState | None = getattr(request, "sokhan_rate", None)
        if rate is not None:
            for name, value in rate.headers().items():
                response.setdefault(name, value)
        return response

    return wrapper


class SokhanAPI(NinjaAPI):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(docs=LocalSwagger(), **kwargs)
        install_error_handlers(self)

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _finish(pattern.callback)
        patterns.append(path("docs/assets/<str:name>", docs_asset, name="docs-asset"))
        # Last: anything else under the API prefix is a JSON 404, not the HTML error page.
        patterns.append(re_path(r"^(?P<rest>.*)$", not_found_view, name="not-found"))
        return patterns
