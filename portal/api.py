"""What every API endpoint shares: pagination and one error format.

Errors are JSON: ``{"detail": "..."}`` for a refusal, ``{"field": ["message"]}`` for bad
input. A broken business rule (``ApplicationError``) is a 400, never a 500.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, pagination
from rest_framework.views import exception_handler as drf_exception_handler

from portal.errors import ApplicationError, NotAllowed


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


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
