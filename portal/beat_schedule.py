"""The jobs ``celery -A portal beat`` runs: ``CELERY_BEAT_SCHEDULE``, built by settings.

Kept out of ``portal/settings.py`` so that file reads as one list of settings, each beside
its reason; here each job sits beside its own. Settings reads the intervals from the
environment and passes them in; this module imports nothing from Django, so settings can
load it before Django is set up.

Each job computes what is due from the database, so it may run late or twice
(``portal/scheduled_jobs.py``): beat's scheduler keeps a tick due when its publish fails,
the worker records each job's last success (``ScheduledJobRun``), and
"scheduled-jobs-catch-up" queues any job that missed its period. A new entry needs nothing
else: it is recorded and caught up like the others.
"""

HOUR = 60 * 60
DAY = 24 * HOUR


def beat_schedule(
    *,
    catch_up_interval: int,
    notification_sweep_interval: int,
    incident_job_seconds: int,
    grant_expiry_interval: int,
    sharing_package_delete_interval: int,
) -> dict[str, dict]:
    """Celery beat's schedule: entry name -> task path, period and publish options.

    Every argument is a period in seconds, from the setting of the same name. Where an entry
    has ``expires`` (seconds), a run nobody took in time is dropped: the next run does the
    same work, so runs don't pile up behind a stopped worker.
    """
    return {
        "scheduled-jobs-catch-up": {
            "task": "portal.tasks.catch_up_scheduled_jobs",
            "schedule": catch_up_interval,
            "options": {"expires": catch_up_interval},
        },
        # Re-queues pending notifications older than NOTIFICATION_SWEEP_AGE.
        "notification-outbox-sweep": {
            "task": "portal.tasks.sweep_notification_outbox",
            "schedule": notification_sweep_interval,
            "options": {"expires": notification_sweep_interval},
        },
        # Incidents: escalation of unacknowledged reports, duty reminders and overdue duties
        # go out at most one period late. Each job is idempotent.
        "incidents-escalate-unacknowledged": {
            "task": "incidents.tasks.escalate_unacknowledged",
            "schedule": incident_job_seconds,
        },
        "incidents-duty-reminders": {
            "task": "incidents.tasks.send_duty_reminders",
            "schedule": incident_job_seconds,
        },
        "incidents-duty-overdue": {
            "task": "incidents.tasks.flag_overdue_duties",
            "schedule": incident_job_seconds,
        },
        # Reads refuse an expired grant at once; this job removes its object permissions and
        # tells the grantee. The reminder goes out once, three days before expiry.
        "grants-expire": {
            "task": "customers.tasks.expire_grants",
            "schedule": grant_expiry_interval,
            "options": {"expires": grant_expiry_interval},
        },
        "grants-remind-expiring": {
            "task": "customers.tasks.remind_expiring_grants",
            "schedule": HOUR,
            "options": {"expires": HOUR},
        },
        # Anchors the audit chain's head outside the database (AUDIT_ANCHOR_DIR).
        "audit-anchor-daily": {
            "task": "portal.tasks.audit_anchor_daily",
            "schedule": DAY,
        },
        # Import jobs with no live worker left are marked failed and their files emptied.
        "consent-import-fail-abandoned-jobs": {
            "task": "consent.tasks.fail_abandoned_consent_import_jobs",
            "schedule": 5 * 60,
            "options": {"expires": 5 * 60},
        },
        # Downloads refuse an expired sharing package at once; this job deletes its file.
        "sharing-delete-expired-packages": {
            "task": "consent.tasks.delete_expired_sharing_packages",
            "schedule": sharing_package_delete_interval,
            "options": {"expires": sharing_package_delete_interval},
        },
        # Deletion-confirmation reminders: hourly runs, each request reminded once a day.
        "sharing-remind-deletion-confirmation": {
            "task": "consent.tasks.remind_sharing_deletion_confirmation",
            "schedule": HOUR,
            "options": {"expires": HOUR},
        },
        # Data subject requests and retention: what was sent is recorded, so hourly runs send
        # each deadline reminder once and a retention reminder once a week per asset.
        "dsr-deadline-reminders": {
            "task": "customers.tasks.remind_subject_request_deadlines",
            "schedule": HOUR,
            "options": {"expires": HOUR},
        },
        "dsr-retention-reminders": {
            "task": "customers.tasks.remind_retention_owners",
            "schedule": HOUR,
            "options": {"expires": HOUR},
        },
        # Idempotency keys older than IDEMPOTENCY_KEY_TTL are pruned daily.
        "idempotency-keys-prune": {
            "task": "portal.tasks.prune_idempotency_keys",
            "schedule": DAY,
        },
    }
