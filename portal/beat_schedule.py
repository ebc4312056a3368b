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
    misuse_signals_interval: int,
) -> dict[str, dict]:
    """Celery beat's schedule: entry name -> task path, period and publish options.

    Every argument is a period in seconds, from the setting of the same name. Where an entry
    has ``expires`` (seconds), a run nobody took in time is dropped: the next run does the
    same work, so runs don't pile up behind a stopped worker. The entries are grouped by
    what they keep in order, one function each.
    """
    return {
        **_upkeep_jobs(catch_up_interval),
        **_notification_jobs(notification_sweep_interval),
        **_incident_jobs(incident_job_seconds),
        **_misuse_signal_jobs(misuse_signals_interval),
        **_grant_jobs(grant_expiry_interval),
        **_consent_and_sharing_jobs(sharing_package_delete_interval),
        **_subject_request_and_retention_jobs(),
    }


def _upkeep_jobs(catch_up_interval: int) -> dict[str, dict]:
    """The portal's own upkeep: catching up missed jobs, the audit anchor, old keys."""
    return {
        "scheduled-jobs-catch-up": {
            "task": "portal.tasks.catch_up_scheduled_jobs",
            "schedule": catch_up_interval,
            "options": {"expires": catch_up_interval},
        },
        # Seals new audit events (position and keyed link) within about a second.
        "audit-seal": {
            "task": "portal.tasks.audit_seal",
            "schedule": 1.0,
            "options": {"expires": 5},
        },
        # Anchors the audit chain's head outside the database (AUDIT_ANCHOR_DIR).
        "audit-anchor-daily": {
            "task": "portal.tasks.audit_anchor_daily",
            "schedule": DAY,
        },
        # Idempotency keys older than IDEMPOTENCY_KEY_TTL are pruned daily.
        "idempotency-keys-prune": {
            "task": "portal.tasks.prune_idempotency_keys",
            "schedule": DAY,
        },
        # Expired sessions are deleted daily (Django's clearsessions): the table would
        # otherwise keep every session ever signed in.
        "sessions-clear-expired": {
            "task": "portal.tasks.clear_expired_sessions",
            "schedule": DAY,
        },
    }


def _notification_jobs(sweep_interval: int) -> dict[str, dict]:
    """Notifications."""
    return {
        # Re-queues pending notifications older than NOTIFICATION_SWEEP_AGE.
        "notification-outbox-sweep": {
            "task": "portal.tasks.sweep_notification_outbox",
            "schedule": sweep_interval,
            "options": {"expires": sweep_interval},
        },
    }


def _incident_jobs(job_seconds: int) -> dict[str, dict]:
    """Incidents."""
    return {
        # Escalation of unacknowledged reports, duty reminders and overdue duties go out at
        # most one period late. Each job is idempotent.
        "incidents-escalate-unacknowledged": {
            "task": "incidents.tasks.escalate_unacknowledged",
            "schedule": job_seconds,
        },
        "incidents-duty-reminders": {
            "task": "incidents.tasks.send_duty_reminders",
            "schedule": job_seconds,
        },
        "incidents-duty-overdue": {
            "task": "incidents.tasks.flag_overdue_duties",
            "schedule": job_seconds,
        },
    }


def _misuse_signal_jobs(interval: int) -> dict[str, dict]:
    """Misuse signals."""
    return {
        # Reads the audit events since its last run (a cursor), so a late run catches up
        # and a run nobody took is dropped: the next reads the same events.
        "misuse-signals-evaluate": {
            "task": "incidents.tasks.evaluate_misuse_signals",
            "schedule": interval,
            "options": {"expires": interval},
        },
    }


def _grant_jobs(expiry_interval: int) -> dict[str, dict]:
    """Access grants."""
    return {
        # Reads refuse an expired grant at once; this job removes its object permissions and
        # tells the grantee. The reminder goes out once, three days before expiry.
        "grants-expire": {
            "task": "customers.tasks.expire_grants",
            "schedule": expiry_interval,
            "options": {"expires": expiry_interval},
        },
        "grants-remind-expiring": {
            "task": "customers.tasks.remind_expiring_grants",
            "schedule": HOUR,
            "options": {"expires": HOUR},
        },
        # Access reviews: the week and day reminders go out once each; a campaign past its
        # due date closes, its undecided items kept or revoked as it says, the next round
        # of a repeating one started (quarterly, yearly).
        "access-reviews-run": {
            "task": "customers.tasks.run_access_reviews",
            "schedule": HOUR,
            "options": {"expires": HOUR},
        },
    }


def _consent_and_sharing_jobs(package_delete_interval: int) -> dict[str, dict]:
    """Consent imports and sharing packages."""
    return {
        # Import jobs with no live worker left are marked failed and their files emptied.
        "consent-import-fail-abandoned-jobs": {
            "task": "consent.tasks.fail_abandoned_consent_import_jobs",
            "schedule": 5 * 60,
            "options": {"expires": 5 * 60},
        },
        # Downloads refuse an expired sharing package at once; this job deletes its file.
        "sharing-delete-expired-packages": {
            "task": "consent.tasks.delete_expired_sharing_packages",
            "schedule": package_delete_interval,
            "options": {"expires": package_delete_interval},
        },
        # Coverage of large assets is kept for the pages that show it; new pairs (a new
        # large asset, a new purpose asked for) are counted before anyone waits for them.
        "coverage-warm-figures": {
            "task": "consent.tasks.warm_coverage_figures",
            "schedule": HOUR,
            "options": {"expires": HOUR},
        },
        # Deletion-confirmation reminders: hourly runs, each request reminded once a day.
        "sharing-remind-deletion-confirmation": {
            "task": "consent.tasks.remind_sharing_deletion_confirmation",
            "schedule": HOUR,
            "options": {"expires": HOUR},
        },
    }


def _subject_request_and_retention_jobs() -> dict[str, dict]:
    """Data subject requests and retention."""
    return {
        # What was sent is recorded, so hourly runs send each deadline reminder once and a
        # retention reminder once a week per asset.
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
    }
