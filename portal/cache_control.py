"""No answer of the portal is kept in a cache: ``Cache-Control: no-store`` on every response.

The portal is the door to customer personal data, and almost every page and API answer
shows some: customer pages, consents, footprints, subject requests and their Art. 15
reports, grant records, exports, sharing packages, the audit log, incidents, even the
dashboard and the inbox name people. A list of "pages with customer data" would miss the
next one; a shared computer's browser cache or an intermediary proxy would keep a copy
after logout. So every response of a view gets Django's never-cache headers
(``no-cache, no-store, must-revalidate, private``, ``max-age=0``, ``Expires`` now), anonymous
ones included (the login page, a redirect to it): caching them gains nothing on an internal
site. Static files are served by WhiteNoise before this middleware and keep their long
cache. A view that sets ``Cache-Control`` itself is left as it is (the exports set
``no-store``).
"""

from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """Adds the never-cache headers to every response without its own ``Cache-Control``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response
