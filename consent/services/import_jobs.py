"""Consent import jobs: a file uploaded on the import page, imported all or nothing by
``consent.services.imports.consent_import``, in the request when it is short and by a Celery
task when it is long, with its progress and its error report kept for the page.

Every step is an audit event: ``consent_import_job.create`` (upload), ``consent.import``
(written by the import itself when it succeeds), ``consent_import_job.finish`` (done,
rejected or failed, with the counts) and ``consent_import_job.errors_download``.
"""

import hashlib
import io
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import IO

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from consent import policies
from consent.models import ConsentImportJob, ImportJobStatus
from consent.services.imports import (
    ImportRejected,
    ImportReport,
    consent_import,
    consent_import_count_rows,
)
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.csv_export import csv_text
from portal.errors import ApplicationError
from portal.history import save_with_history
from portal.input_limits import max_length
from portal.languages import language_for
from portal.models import User

logger = logging.getLogger(__name__)


# Rows checked so far by a running job: its transaction commits only at the end, so the
# count goes through the shared cache (Redis in production), not the job row.
PROGRESS_KEY = "consent-import-job:{pk}:rows"


PROGRESS_SECONDS = 24 * 60 * 60


RUN_IMPORT_TASK = "consent.tasks.run_consent_import_job"

# Fixed texts stored in the job's history (change reasons) and message, in English: the
# pages that show them translate them (``gettext_noop`` marks them for the catalogue).
QUEUE_DOWN_MESSAGE = gettext_noop(
    "The job could not be queued (the task queue is down): upload again."
)
FINISHED_REASONS: dict[str, str] = {
    ImportJobStatus.DONE: gettext_noop("Import done."),
    ImportJobStatus.REJECTED: gettext_noop("Import rejected."),
    ImportJobStatus.FAILED: gettext_noop("Import failed."),
}


FILE_NAME_MAX = max_length(ConsentImportJob, "file_name")


def import_job_submit(*, actor: User, file: IO[bytes], name: str) -> ConsentImportJob:
    """Store an uploaded CSV (binary file object) as a job and import it.

    Up to ``settings.CONSENT_IMPORT_SYNC_MAX_ROWS`` rows (or a file that is not readable
    CSV, which is rejected at once): imported now, the job comes back finished. More rows:
    the job comes back ``queued`` and a Celery task imports it after this transaction
    commits. Raises ``NotAllowed`` for anyone but a compliance officer and
    ``ApplicationError`` (field ``file``) for a file over ``CONSENT_IMPORT_MAX_BYTES``.
    """
    policies.require_may_import_consent(actor)
    limit = settings.CONSENT_IMPORT_MAX_BYTES
    content = file.read(limit + 1)
    if len(content) > limit:
        raise ApplicationError(
            _("The file is larger than %(megabytes)s MB: split it.")
            % {"megabytes": limit // (1024 * 1024)},
            field="file",
        )
    # The browser's file name is stored and audited: no control characters (a NUL cannot
    # be stored in PostgreSQL text or JSON).
    name = "".join(ch for ch in (name or "") if ch.isprintable()).strip() or "upload.csv"
    job = ConsentImportJob(
        created_by=actor,
        file_name=name[:FILE_NAME_MAX],
        content=content,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        rows_total=consent_import_count_rows(content),
    )
    with transaction.atomic():
        save_with_history(job, actor=actor, reason=gettext_noop("Uploaded for import."))
        audit_record(
            actor=actor,
            action=AuditAction.CONSENT_IMPORT_JOB_CREATE,
            target=job,
            detail={
                "file": job.file_name,
                "sha256": job.sha256,
                "bytes": job.size,
                "rows": job.rows_total,
            },
        )
        background = (job.rows_total or 0) > settings.CONSENT_IMPORT_SYNC_MAX_ROWS
        if background:
            transaction.on_commit(lambda: _enqueue(job.pk))
    if not background:
        import_job_run(job_id=job.pk)
        job.refresh_from_db()
    return job


def _enqueue(job_id: int) -> None:
    try:
        # By name: consent.tasks calls this module back, so importing it here would close
        # a cycle; ConsentConfig.ready registers the task in every process.
        current_app.tasks[RUN_IMPORT_TASK].delay(job_id)
    except Exception as error:  # noqa: BLE001 - a broker that is down must not lose the job
        logger.warning("Could not queue consent import job %s: %s", job_id, error)
        _fail(job_id, QUEUE_DOWN_MESSAGE)


def import_job_run(*, job_id: int) -> ConsentImportJob | None:
    """Import the job's file, all or nothing, and record the outcome on the job.

    Runs a ``queued`` job, or a ``running`` one whose worker died (its transaction was
    rolled back, so nothing of it was kept); a job another worker is importing right now
    (its row is locked) or that has finished is left alone, so a task delivered twice
    imports once. The rows, the job's outcome and their audit events commit together.
    An unexpected error (time limit, database) marks the job ``failed``; nothing is
    imported then either. Returns the job, or ``None`` if there is no such job.
    """
    with transaction.atomic():
        job = ConsentImportJob.objects.select_for_update(skip_locked=True).filter(pk=job_id).first()
        if job is None or job.finished:  # gone, finished, or being imported right now
            return job or ConsentImportJob.objects.filter(pk=job_id).first()
        job.status = ImportJobStatus.RUNNING
        job.started_at = timezone.now()
        save_with_history(
            job,
            actor=job.created_by,
            reason=gettext_noop("Import started."),
            update_fields=["status", "started_at"],
        )
    # The reasons of bad rows are written in the uploader's language, wherever it runs.
    with translation.override(language_for(job.created_by)):
        return _import_running(job_id, job)


def _import_running(job_id: int, job: ConsentImportJob) -> ConsentImportJob | None:
    """The import of a job marked running (see ``import_job_run``)."""
    try:
        with transaction.atomic():
            locked = (
                ConsentImportJob.objects.select_for_update(skip_locked=True)
                .filter(pk=job_id, status=ImportJobStatus.RUNNING)
                .first()
            )
            if locked is None:
                return job
            try:
                report = consent_import(
                    actor=locked.created_by,
                    file=io.BytesIO(bytes(locked.content)),
                    name=locked.file_name,
                    progress=lambda rows: _progress(job_id, rows),
                )
            except ImportRejected as rejected:
                _finish(locked, ImportJobStatus.REJECTED, rejected.report)
            else:
                _finish(locked, ImportJobStatus.DONE, report)
            return locked
    except Exception as error:  # noqa: BLE001 - whatever stopped it, the job must say so
        logger.exception("Consent import job %s failed", job_id)
        message = error.message if isinstance(error, ApplicationError) else type(error).__name__
        return _fail(
            job_id,
            _("The import stopped (%(message)s); nothing was imported.") % {"message": message},
        )


def _progress(job_id: int, rows: int) -> None:
    try:
        cache.set(PROGRESS_KEY.format(pk=job_id), rows, PROGRESS_SECONDS)
    except Exception as error:  # noqa: BLE001 - progress is a courtesy, the import goes on
        logger.warning("Could not record the progress of import job %s: %s", job_id, error)


def _finish(job: ConsentImportJob, status: str, report: ImportReport) -> None:
    job.status = status
    job.rows_processed = report.rows
    # A rejected file's batches written before the bad row was found were rolled back.
    done = status == ImportJobStatus.DONE
    job.imported = report.imported if done else 0
    job.already_recorded = report.already_recorded if done else 0
    job.errors = [[line, reason] for line, reason in report.errors]
    job.error_count = len(report.errors)
    job.content = b""
    job.finished_at = timezone.now()
    save_with_history(job, actor=job.created_by, reason=FINISHED_REASONS[job.status])
    _audit_finish(job)


def _fail(
    job_id: int,
    message: str,
    *,
    only_if: Callable[[ConsentImportJob], bool] | None = None,
) -> ConsentImportJob | None:
    with transaction.atomic():
        # A conditional failure (the sweep) passes over a row locked right now: a worker is
        # importing it, so it is alive (a killed worker's lock went with its connection).
        rows = ConsentImportJob.objects.select_for_update(skip_locked=only_if is not None)
        job = rows.filter(pk=job_id).first()
        if job is None or job.finished or (only_if is not None and not only_if(job)):
            return job
        job.status = ImportJobStatus.FAILED
        job.message = message[:500]
        job.content = b""
        job.finished_at = timezone.now()
        save_with_history(job, actor=job.created_by, reason=job.message)
        _audit_finish(job)
        return job


def _audit_finish(job: ConsentImportJob) -> None:
    audit_record(
        actor=job.created_by,
        action=AuditAction.CONSENT_IMPORT_JOB_FINISH,
        target=job,
        detail={
            "status": job.status,
            "sha256": job.sha256,
            "rows": job.rows_processed,
            "imported": job.imported,
            "already_recorded": job.already_recorded,
            "errors": job.error_count,
        },
    )


# Stored on the job in English (``gettext_noop``), read in the reader's language: the
# import page translates ``job.message`` where it shows it.
ABANDONED_MESSAGE = gettext_noop(
    "The import stopped (no worker finished it in time: it was stopped by the time limit, "
    "or its task was lost); nothing was imported. Upload the file again."
)


def import_job_abandoned_cutoffs(now: datetime) -> tuple[datetime, datetime]:
    """The two moments before which an unfinished job can no longer be alive, as
    ``(running_started_before, queued_created_before)``, aware datetimes in UTC.

    A ``running`` job started more than ``CONSENT_IMPORT_TIME_LIMIT`` seconds ago has been
    killed by Celery's hard time limit, which runs none of our code, so nothing marked it
    failed. A ``queued`` job older than the broker's visibility timeout
    (``CELERY_VISIBILITY_TIMEOUT``) has lost its message: Redis would have handed it to a
    worker again by then. Both get ``CONSENT_IMPORT_ABANDON_MARGIN`` seconds more for clocks
    and a busy worker.
    """
    margin = settings.CONSENT_IMPORT_ABANDON_MARGIN
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    return (
        now - timedelta(seconds=settings.CONSENT_IMPORT_TIME_LIMIT + margin),
        now - timedelta(seconds=visibility + margin),
    )


def _abandoned_q(now: datetime) -> Q:
    running_before, queued_before = import_job_abandoned_cutoffs(now)
    return Q(status=ImportJobStatus.RUNNING, started_at__lt=running_before) | Q(
        status=ImportJobStatus.QUEUED, created_at__lt=queued_before
    )


def import_job_is_abandoned(job: ConsentImportJob, *, now: datetime | None = None) -> bool:
    """Whether ``job`` is unfinished but past the cutoffs of
    ``import_job_abandoned_cutoffs`` (``now`` defaults to the current time)."""
    running_before, queued_before = import_job_abandoned_cutoffs(now or timezone.now())
    if job.status == ImportJobStatus.RUNNING:
        return job.started_at is not None and job.started_at < running_before
    return job.status == ImportJobStatus.QUEUED and job.created_at < queued_before


def import_job_as_seen(
    job: ConsentImportJob | None, *, now: datetime | None = None
) -> ConsentImportJob | None:
    """The job as a page shows it: an abandoned job (see ``import_job_is_abandoned``)
    reads as ``failed`` with its message, so its page stops reloading, even before the
    sweep (``import_jobs_abandoned_fail``) has recorded that. Changes the instance in
    memory only: a page view writes nothing, and the sweep writes the failure with its
    audit event and empties the file. Returns ``job`` (``None`` stays ``None``)."""
    if job is not None and import_job_is_abandoned(job, now=now):
        job.status = ImportJobStatus.FAILED
        job.message = ABANDONED_MESSAGE
    return job


def import_jobs_abandoned_fail(*, now: datetime | None = None) -> int:
    """Mark every abandoned import job (see ``import_job_abandoned_cutoffs``) ``failed``:
    its file (customer keys, consent evidence) is emptied and ``consent_import_job.finish``
    is audited, each job in its own transaction. A job that is locked (being imported right
    now) or no longer abandoned when locked is left alone. Nothing was imported for any of
    them: an import commits all its rows with its outcome or none. Run by beat (the sweep
    ``consent.tasks.fail_abandoned_consent_import_jobs``). Returns how many were failed.
    """
    now = now or timezone.now()
    failed = 0
    pks = ConsentImportJob.objects.filter(_abandoned_q(now)).values_list("pk", flat=True)
    for pk in list(pks):
        job = _fail(pk, ABANDONED_MESSAGE, only_if=lambda j: import_job_is_abandoned(j, now=now))
        failed += job is not None and job.status == ImportJobStatus.FAILED
    return failed


def import_job_progress(job: ConsentImportJob) -> int:
    """Rows checked so far: the running job's count from the cache, else the job's own."""
    if job.status != ImportJobStatus.RUNNING:
        return job.rows_processed
    try:
        return int(cache.get(PROGRESS_KEY.format(pk=job.pk)) or 0)
    except Exception:  # noqa: BLE001 - a cache that is down shows no progress, not a 500
        return 0


def import_errors_csv(errors: Iterable) -> str:
    """The error report as CSV text (columns ``line``, ``reason``), through the one safe
    writer: a reason can quote a cell of the uploaded file."""
    return csv_text(["line", "reason"], ({"line": ln, "reason": why} for ln, why in errors))


def import_job_errors_download(*, job: ConsentImportJob, actor: User) -> tuple[str, str]:
    """The job's full error report: (file name, CSV text). Audited: the reasons name
    customers (an unknown e-mail address, an id)."""
    audit_record(
        actor=actor,
        action=AuditAction.CONSENT_IMPORT_JOB_ERRORS_DOWNLOAD,
        target=job,
        detail={"errors": job.error_count},
    )
    return f"consent-import-{job.pk}-errors.csv", import_errors_csv(job.errors)
