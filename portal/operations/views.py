"""Probe and metrics pages. No login needed, no personal data in any answer.

- ``/health/live``: the process answers (no dependency checked: restarting a process
  because the database is down does not help).
- ``/health/ready`` and ``/health/compliance`` (see ``portal.operations.health``): an
  anonymous probe gets only ``{"status": "ok"}`` (200) or ``{"status": "unavailable"}``
  (503); staff get each check and its reason (django-health-check's report, same codes).
- ``/metrics``: Prometheus text, only to the addresses in ``METRICS_ALLOWED_IPS``
  (everyone else: 404), so it can stay on an internal address.
"""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView
from health_check.views import HealthCheckView
from prometheus_client import generate_latest

from portal.operations.health import COMPLIANCE_CHECKS, READY_CHECKS
from portal.operations.metrics import PORTAL_REGISTRY


@never_cache
def live(request: HttpRequest) -> HttpResponse:
    """200 while the process can answer a request."""
    return JsonResponse({"status": "ok"})


class _ProbeView(HealthCheckView):
    async def get(self, request, *args, **kwargs):
        user = await request.auser()
        try:
            response = await super().get(request, *args, **kwargs)
        except ValueError:
            # django-health-check refuses an Accept header it cannot parse, after running the
            # checks: staff are told (406); an unauthenticated probe gets its status anyway.
            if user.is_staff:
                # An operator's probe answer: English, as django-health-check's own reports.
                unreadable = "The Accept header cannot be read."  # i18n: not shown (operators)
                return JsonResponse({"detail": unreadable}, status=406)
            response = HttpResponse(status=200)
        if response.status_code == 500:
            response.status_code = 503  # a dependency is down, not a bug of this page
        if user.is_staff:
            return response
        ok = not any(result.error for result in self.results)
        return JsonResponse({"status": "ok" if ok else "unavailable"}, status=200 if ok else 503)


class ReadyView(_ProbeView):
    """Database, migrations, Redis and cache: may this process take traffic?"""

    checks = READY_CHECKS


class ComplianceView(_ProbeView):
    """Worker, beat jobs, outbox age, audit anchor: does the portal keep its promises?"""

    checks = COMPLIANCE_CHECKS


def metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus exposition of this process (django-prometheus's request, database and
    cache metrics, plus the portal's gauges of ``portal.operations.metrics``)."""
    if request.META.get("REMOTE_ADDR") not in settings.METRICS_ALLOWED_IPS:
        raise Http404
    response = ExportToDjangoView(request)
    response.content = response.content + generate_latest(PORTAL_REGISTRY)
    return response
