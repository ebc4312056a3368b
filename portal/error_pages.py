"""The portal's own error pages whatever ``DEBUG`` says: the local demo looks like production.

With ``DEBUG`` on, Django answers a missing page, a suspicious request and an uncaught
exception with its technical pages (every URL pattern, settings, a traceback): useful to a
developer, alarming to the person trying the demo. ``ErrorPagesMiddleware`` answers them with
the handlers of ``portal/urls.py`` instead (404, 400, 500 pages in the portal's layout, JSON
under ``/api/``); the traceback of a 500 still goes to the console through the
``django.request`` logger. With ``DEBUG`` off Django already calls those handlers and the
middleware steps aside, so production behaviour is untouched. A 403 never shows a debug page.
"""

import logging

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.urls import Resolver404

from portal import views

logger = logging.getLogger("django.request")


class ErrorPagesMiddleware:
    """In DEBUG, turns Django's technical 404/400/500 answers into the portal's pages.

    In: every request. Out: the inner response, except, with ``settings.DEBUG`` on, (a) a 404
    for a path no URL pattern matches (``request.resolver_match`` is then unset) becomes
    ``views.page_not_found``; (b) ``Http404``, ``SuspiciousOperation``/``BadRequest`` and any
    other exception escaping a view become the 404, 400 and 500 handlers. Must sit after
    ``AuthenticationMiddleware`` (the pages show the navigation) and before the middleware
    whose ``process_exception`` turns their own exceptions into answers (refusals, lockout).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and getattr(request, "resolver_match", None) is None
        ):
            return views.page_not_found(request, Resolver404())
        return response

    def process_exception(self, request, exception):
        if not settings.DEBUG:
            return None
        if isinstance(exception, Http404):
            return views.page_not_found(request, exception)
        if isinstance(exception, SuspiciousOperation | BadRequest):
            return views.bad_request(request, exception)
        if isinstance(exception, PermissionDenied | MultiPartParserError):
            return None  # Django answers these with the handlers, DEBUG or not
        logger.error("Internal Server Error: %s", request.path, exc_info=exception)
        return views.server_error(request)
