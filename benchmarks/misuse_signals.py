"""Benchmark of the misuse signals' job over the scale data's audit trail.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_scale_data DEBUG=1 \\
        .venv/bin/python benchmarks/misuse_signals.py

Needs a database seeded with ``manage.py seed_scale`` (200,000 audit events at full size).
Everything runs in one transaction that is rolled back at the end, so the database keeps
its data: the alerts, the cursor and the 1,000 events appended are gone afterwards.

Prints, for the full run (the cursor at 0: every event read, as a first run or a job that
never ran), the events read, the alerts raised per signal and the seconds; then a rerun
from 0 (must raise nothing: no duplicate); then the incremental run over 1,000 new events
written through ``audit_record`` (views, exports, refusals, grants, as the portal writes
them). Goals: full run under 10 s, incremental under 0.5 s.
"""

import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DEBUG", "1")

NEW_EVENTS = 1_000


def append_events(count: int, rng: random.Random) -> None:
    """``count`` events as the services write them: 60 % record views, 10 % exports, 10 %
    coverage refusals, 5 % grants, the rest sign-ins, by people of the scale data."""
    from customers.models.access import AccessGrant
    from customers.models.catalogue import DataAsset
    from portal.audit import audit_record
    from portal.audit_actions import AuditAction

    grants = list(AccessGrant.objects.select_related("user", "purpose").order_by("?")[:500])
    assets = list(DataAsset.objects.order_by("?")[:200])
    refusal = {"purpose": "marketing.communications.email", "total": 10}
    for _ in range(count):
        kind, grant = rng.random(), rng.choice(grants)
        actor, target, asset_id = grant.user, grant, grant.asset_id
        if kind < 0.6:
            action, detail = AuditAction.RECORDS_VIEW, {"page": 1, "shown": 50}
        elif kind < 0.7:
            rows = rng.choice((800, 1200, 9000))
            action, detail = AuditAction.EXPORT_DOWNLOAD, {"export_id": "bench", "rows": rows}
        elif kind < 0.8:
            action, detail, target = AuditAction.ACCESS_REQUEST_REFUSED, refusal, rng.choice(assets)
            asset_id = target.pk
        elif kind < 0.85:
            action, detail, actor = AuditAction.GRANT_CREATE, {"purpose": grant.purpose.key}, None
        else:
            action, detail, target, asset_id = AuditAction.AUTH_LOGIN, {}, grant.user, None
        audit_record(actor=actor, action=action, target=target, asset_id=asset_id, detail=detail)


def timed_run(label: str) -> float:
    from incidents.models import Alert
    from incidents.services.alerts import alerts_evaluate

    before = set(Alert.objects.values_list("pk", flat=True))
    start = time.perf_counter()
    raised = alerts_evaluate()
    seconds = time.perf_counter() - start
    signals = Counter(Alert.objects.exclude(pk__in=before).values_list("signal", flat=True))
    print(f"{label}: {seconds:.2f} s, {raised} alerts raised {dict(signals)}")
    return seconds


def main() -> None:
    import django

    django.setup()
    from django.db import transaction

    from incidents.models import MisuseSignalCursor
    from portal.models import AuditEvent

    with transaction.atomic():
        MisuseSignalCursor.objects.update_or_create(pk=1, defaults={"last_position": 0})
        print(f"audit events: {AuditEvent.objects.count():,}")
        full = timed_run("full run from the first event")
        MisuseSignalCursor.objects.filter(pk=1).update(last_position=0)
        timed_run("rerun from the first event (no duplicate expected)")
        append_events(NEW_EVENTS, random.Random(24))
        incremental = timed_run(f"incremental run over {NEW_EVENTS:,} new events")
        print(f"goals: full < 10 s: {full < 10}; incremental < 0.5 s: {incremental < 0.5}")
        transaction.set_rollback(True)


if __name__ == "__main__":
    main()
