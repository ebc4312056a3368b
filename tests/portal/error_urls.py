"""The portal's URLs plus views that fail, for the error-page tests."""

from django.db import OperationalError
from django.urls import include, path

from portal.urls import handler400, handler403, handler404, handler500  # noqa: F401


def fails(request):
    raise RuntimeError("a bug after the incident was saved")


def database_gone(request):
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")


urlpatterns = [
    path("test-fails/", fails),
    path("api/test-database-gone/", database_gone),
    path("test-database-gone/", database_gone),
    path("", include("portal.urls")),
]
