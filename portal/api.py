"""What every API endpoint shares: pagination and one error format.

Errors are JSON: ``{"detail": "..."}`` for a refusal, ``{"field": ["message"]}`` for bad
input. A broken business rule (``ApplicationError``) is a 400, never a 500.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, pagination, renderers
from rest_framework.views import exception_handler as drf_exception_handler

from portal.errors import ApplicationError, NotAllowed


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class CSVRenderer(renderers.BaseRenderer):
    """Lets a client that asks for ``text/csv`` reach a CSV download (the body is the
    response's own, often streamed)."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes | str) else b""


def exception_handler(exc, context):
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
    return drf_exception_handler(exc, context)
