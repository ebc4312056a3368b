"""The audit trail's refusal to change: ``AuditEvent``'s manager and error.

Events can be read and appended, never changed or removed, through the ORM on every
database (PostgreSQL's trigger refuses raw SQL as well; ``portal.models.AuditEvent``).
"""

from django.db import DatabaseError, models


class AuditTrailIsAppendOnly(DatabaseError):
    """An attempt to change or delete an audit event through the ORM.

    A ``DatabaseError``, like the one PostgreSQL's trigger raises for raw SQL, so callers
    see one family of error whichever door the attempt came through.
    """


# Refusals meant for the programmer whose code tried it; nobody using the portal can.
CANNOT_UPDATE = "Audit events are append-only: they cannot be updated."  # i18n: not shown
CANNOT_DELETE = "Audit events are append-only: they cannot be deleted."  # i18n: not shown
CANNOT_CHANGE = "Audit events are append-only: they cannot be changed."  # i18n: not shown


class AuditEventQuerySet(models.QuerySet):
    """Events can be read and appended, never changed or removed (on every database)."""

    def update(self, **kwargs):
        raise AuditTrailIsAppendOnly(CANNOT_UPDATE)

    def delete(self):
        raise AuditTrailIsAppendOnly(CANNOT_DELETE)

    # Django's own bulk paths go through these two; refuse them as well.
    def _update(self, values):
        raise AuditTrailIsAppendOnly(CANNOT_UPDATE)

    def _raw_delete(self, using):
        raise AuditTrailIsAppendOnly(CANNOT_DELETE)
