"""The portal's own gauges, computed from the database at each scrape.

They live in their own registry (``PORTAL_REGISTRY``), not prometheus_client's global one:
they read shared tables, so any one process reports the same figures, and they stay right
when django-prometheus runs in multi-process mode (``PROMETHEUS_MULTIPROC_DIR``).
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from customers.visibility import active_grants
from incidents.models import DutyState, Incident, Status
from portal.audit_seal import seal_lag_seconds
from portal.audit_verify import audit_anchors
from portal.models import ApprovalRole, ApprovalStep, StepStatus
from portal.operations.health import outbox_oldest_pending
from portal.site_calendar import add_calendar_days

# Age bands of pending approval steps (by their request's age): label and upper bound.
APPROVAL_AGE_BANDS = (("under_1d", timedelta(days=1)), ("1d_to_7d", timedelta(days=7)))
APPROVAL_AGE_OLDEST = "over_7d"


def open_incidents_past_deadline(now: datetime) -> int:
    """Incidents not closed with at least one report duty still open after its ``due_at``."""
    return (
        Incident.objects.exclude(status=Status.CLOSED)
        .filter(duties__state=DutyState.OPEN, duties__due_at__lt=now)
        .distinct()
        .count()
    )


def pending_approval_steps(now: datetime) -> dict[tuple[str, str], int]:
    """Open approval steps by (role, age band of their request); every pair present."""
    counts = {
        (role, band): 0
        for role in ApprovalRole.values
        for band in [name for name, _ in APPROVAL_AGE_BANDS] + [APPROVAL_AGE_OLDEST]
    }
    opened = ApprovalStep.objects.filter(status=StepStatus.OPEN).annotate(
        opened=F("chain__created_at")
    )
    for role, opened_at in opened.values_list("role", "opened"):
        age = now - opened_at
        band = next((name for name, limit in APPROVAL_AGE_BANDS if age < limit), None)
        counts[(role, band or APPROVAL_AGE_OLDEST)] += 1
    return counts


def grants_expiring_within(now: datetime, days: int = 7) -> int:
    """Active grants (``customers.visibility.active_grants``) that end within the next
    ``days`` calendar days in the site's zone, as the owners' dashboard counts them."""
    return active_grants(now).filter(expires_at__lte=add_calendar_days(now, days)).count()


# The gauges' texts are for operators (Prometheus HELP), in English: "(ops)" below.
class PortalCollector(Collector):
    """Yields the portal's gauges (see docs/operations.md for their meaning)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        backlog, oldest = outbox_oldest_pending(now)
        yield _gauge(
            "portal_outbox_backlog",
            "Notifications neither sent nor failed.",  # i18n: not shown (ops)
            backlog,
        )
        yield _gauge(
            "portal_outbox_oldest_age_seconds",
            "Age of the oldest undelivered e-mail.",  # i18n: not shown (ops)
            oldest,
        )
        yield _gauge(
            "portal_incidents_past_deadline",
            "Open incidents with a report duty past its deadline.",  # i18n: not shown (ops)
            open_incidents_past_deadline(now),
        )
        steps = GaugeMetricFamily(
            "portal_approval_steps_pending",
            (
                "Approval steps waiting for"  # i18n: not shown (ops)
                " a decision, by role and age of the request."
            ),
            labels=["role", "age"],
        )
        for (role, band), count in pending_approval_steps(now).items():
            steps.add_metric([role, band], count)
        yield steps
        yield _gauge(
            "portal_grants_expiring_7d",
            "Access grants that expire within 7 days.",  # i18n: not shown (ops)
            grants_expiring_within(now),
        )
        yield from _audit_gauges()


def _audit_gauges() -> Iterator[GaugeMetricFamily]:
    try:
        anchors = audit_anchors()
    except ValueError:
        anchors = []
    newest = anchors[-1] if anchors else None
    yield _gauge(
        "portal_audit_last_verified_event_id",
        "Id of the newest audit event verified and anchored (0: none).",  # i18n: not shown (ops)
        newest.event_id if newest else 0,
    )
    yield _gauge(
        "portal_audit_seal_lag_seconds",
        (
            "Age of the oldest audit event"  # i18n: not shown (ops)
            " not sealed yet, seconds (0: all sealed)."
        ),
        seal_lag_seconds(),
    )
    yield _gauge(
        "portal_audit_last_anchor_timestamp_seconds",
        "When the newest audit anchor was written, Unix time (0: never).",  # i18n: not shown (ops)
        written.timestamp() if newest and (written := newest.written_at) else 0,
    )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


PORTAL_REGISTRY = CollectorRegistry(auto_describe=False)
PORTAL_REGISTRY.register(PortalCollector())
