"""What every API endpoint shares: pagination and one error format.

Errors are JSON: ``{"detail": "..."}`` for a refusal, ``{"field": ["message"]}`` for bad
input. A broken business rule (``ApplicationError``) is a 400, never a 500.
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, pagination, renderers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.errors import ApplicationError, NotAllowed
from portal.pagination import OneReadPaginator, OpenEndedPaginator


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class OneReadPagination(Pagination):
    """``Pagination`` whose page and count come from one query (``OneReadPaginator``), for
    lists whose page must scan every match anyway: a catalogue search, the approvals
    waiting, a grant's records. The answer is the same as ``Pagination``'s."""

    django_paginator_class = OneReadPaginator


class CappedCountPagination(Pagination):
    """For lists of hundreds of thousands of rows (the audit log): ``count`` is exact up to
    ``CappedPaginator.cap`` (10,000) and then stops there, with ``count_capped: true``; the
    ``next`` links still reach every page. An exact count of 200,000 events cost more than
    the page itself, and grows with the log."""

    django_paginator_class = OpenEndedPaginator

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_capped"] = self.page.paginator.capped
        return response

    def get_paginated_response_schema(self, schema):
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["count_capped"] = {
            "type": "boolean",
            "description": "true when count stopped at its cap (more rows follow)",
        }
        return answer


def asks_for_waiting(request) -> bool:
    """``?waiting=1`` (or ``true``, ``yes``): the caller asks for the requests waiting for
    their decision rather than their own."""
    return request.query_params.get("waiting") in ("1", "true", "yes")


def waiting_requests_response(
    view, waiting, write: Callable[[list[Any]], list[dict[str, Any]]] | None = None
) -> Response:
    """A page of the approvals list ``waiting`` (``portal.approvals.approvals_waiting_for``,
    already cut to the view's kind of request), each row answered as ``view``'s serializer
    shows a request, or by ``write`` (the requests of the page in, one dict each out) where
    the kind has a plain writer of the same shape: the ``?waiting=1`` list of the request
    APIs, paginated as every list (its page and count in one query, ``OneReadPagination``).
    A page number past the end raises DRF's ``NotFound`` (a 404), as every list's does."""
    paginator = OneReadPagination()
    page = paginator.paginate_queryset(waiting, view.request, view=view)
    requests = [row.request for row in page]
    data = write(requests) if write else view.get_serializer(requests, many=True).data
    return paginator.get_paginated_response(data)


class CSVRenderer(renderers.BaseRenderer):
    """Lets a client that asks for ``text/csv`` reach a CSV download (the body is the
    response's own, often streamed)."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | str):
            return data
        # An error answered to a client that asked for CSV (a 404, a 403): JSON like every
        # API error, not an empty body without a content type (schemathesis found it).
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return renderers.JSONRenderer().render(data)


def exception_handler(exc, context):
    """The API's one translation of errors (REST_FRAMEWORK ``EXCEPTION_HANDLER``).

    A service's ``NotAllowed`` (from any app) is a 403 ``{"detail": message}``; any other
    ``ApplicationError`` a 400, ``{field: [message]}`` or ``{"detail": message}``; a model's
    ``ValidationError`` a 400. Endpoints do not catch these by hand. Every 403 is a line in
    the security log.
    """
    if isinstance(exc, NotAllowed):
        exc = exceptions.PermissionDenied(exc.message)
    elif isinstance(exc, ApplicationError):
        detail = {exc.field: [exc.message]} if exc.field else {"detail": exc.message}
        detail.update(exc.extra)
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    if isinstance(exc, exceptions.PermissionDenied):
        # A refusal of an action on something the caller can see (what it may not see is a
        # 404): a line in the security log.
        from portal.audit import security_event  # models: not while DRF's settings load

        request = context.get("request")
        security_event(
            "permission_denied",
            user=getattr(request, "user", None),
            path=request.path[:200] if request is not None else "",
        )
    return drf_exception_handler(exc, context)


# The OpenAPI schema's texts are for the programmers of API clients: English, like the
# field names and codes it documents (only the API's error messages are translated).
ERROR_RESPONSES = {
    "400": (
        "Bad input: a message per field,"  # i18n: not shown (schema)
        " or ``detail`` for a broken rule."
    ),
    "401": "Not authenticated (or a token refused).",  # i18n: not shown (schema)
    "403": (
        "Not allowed: an action the caller may not take"  # i18n: not shown (schema)
        " on something they can see."
    ),
    "404": (
        "Not found: no such object,"  # i18n: not shown (schema)
        " or one the caller may not see."
    ),
}
# What a create answers for its ``Idempotency-Key`` header (portal/idempotency.py).
IDEMPOTENCY_RESPONSES = {
    "409": (
        "The first request with this Idempotency-Key"  # i18n: not shown (schema)
        " is still running: retry later."
    ),
    "422": (
        "This Idempotency-Key was already used"  # i18n: not shown (schema)
        " with another request body."
    ),
}


def document_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: every operation documents the errors it can
    answer (all JSON, ``{"detail": ...}`` or ``{"field": [...]}``), so a client and the
    schema tests know a 404 from an undocumented answer."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = {
        "type": "object",
        "description": "`detail` for a refusal, or a list of messages per field.",
        "properties": {"detail": {"type": "string"}},
        "additionalProperties": True,
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            documented = dict(ERROR_RESPONSES)
            if any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])):
                documented |= IDEMPOTENCY_RESPONSES
            for status, description in documented.items():
                responses.setdefault(status, {"description": description, "content": error})
    return result
