"""A test-only URLconf: the real site plus one view that forgets its permission check, for
the test that proves the URL sweep catches such a view (tests/portal/test_url_sweep.py)."""

from django.http import HttpResponse
from django.urls import path

from customers.models.catalogue import DataAsset
from portal.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


def leaky_asset(request, pk):
    # Deliberately wrong: no login_required, no get_asset_for_user.
    return HttpResponse(DataAsset.objects.get(pk=pk).name)


urlpatterns = [*urlpatterns, path("leaky/assets/<int:pk>/", leaky_asset, name="leaky_asset")]
