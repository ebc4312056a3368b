"""``notify``: the one way any part of the portal tells people something.

It writes one ``Notification`` row per recipient in the caller's transaction and queues the
e-mail delivery on commit: if the transaction rolls back, nobody is told anything.
"""

import logging
from collections.abc import Iterable

from django.db import models, transaction

from portal.models import Notification

logger = logging.getLogger(__name__)


def notify(
    *,
    users: Iterable,
    kind: str,
    subject: str,
    body: str = "",
    link: str = "",
    target: models.Model | None = None,
) -> list[Notification]:
    """Tell each of ``users`` (duplicates and inactive accounts dropped) about an event.

    ``subject`` and ``body`` are what the recipient reads in the inbox and the e-mail; they
    must never contain what the recipient may not see (a confidential reporter, records).
    """
    recipients = {user.pk: user for user in users if user is not None and user.is_active}
    target_type, target_id = "", ""
    if target is not None:
        target_type = f"{target._meta.app_label}.{target._meta.model_name}"
        target_id = str(target.pk)
    rows = [
        Notification(
            recipient=user,
            kind=kind,
            subject=subject[:255],
            body=body,
            link=link,
            target_type=target_type,
            target_id=target_id,
        )
        for user in recipients.values()
    ]
    for row in rows:
        row.save()
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(lambda: queue_delivery(ids))
    return rows


def queue_delivery(ids: list[int]) -> None:
    """Hand the rows to Celery. A broker that is down must not break the caller: the rows
    stay pending and the outbox sweep delivers them later."""
    from portal.tasks import deliver_notification

    for pk in ids:
        try:
            deliver_notification.delay(pk)
        except Exception:  # noqa: BLE001 - any broker failure leaves the row pending
            logger.warning("Could not queue notification %s; the outbox sweep will.", pk)
            return
