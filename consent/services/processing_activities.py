"""Processing activities of the record (GDPR Art. 30(1)): compliance names them and maps each
to the purposes it serves; exporting the record is an audit event."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from consent.models import ProcessingActivity, Purpose
from consent.policies import may_read_record
from portal import roles
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError, NotAllowed
from portal.history import history_user_set
from portal.input_limits import one_line
from portal.models import User


@transaction.atomic
def processing_activity_save(
    *,
    actor: User,
    activity: ProcessingActivity | None = None,
    name: str,
    purposes: Iterable[Purpose],
    description: str = "",
    joint_controllers: str = "",
    data_subject_categories: str = "Customers",
    security_measures: str = "",
) -> ProcessingActivity:
    """Create ``activity`` (``None``) or change it: its name (unique, one line), the purposes
    it serves (at least one: the record needs a lawful basis for each activity, Art. 30(1)(b)
    with Art. 6) and what the data cannot tell.

    Only a member of Compliance (else ``NotAllowed``); a blank or taken name, or no purpose,
    raises ``ApplicationError`` on that field and changes nothing. The row is locked when
    changed; its history keeps the purposes (the record as of a date reads it) and the audit
    event ``record.activity_save`` the name and purpose keys.
    """
    roles.require_compliance(actor, _("keep the record of processing activities"))
    name = one_line(name)
    purposes = list(purposes)
    if not name:
        raise ApplicationError(_("Name the activity."), field="name")
    if not purposes:
        raise ApplicationError(_("Choose at least one purpose."), field="purposes")
    taken = ProcessingActivity.objects.filter(name__iexact=name)
    if activity is not None:
        taken = taken.exclude(pk=activity.pk)
        activity = ProcessingActivity.objects.select_for_update().get(pk=activity.pk)
    taken_message = _("An activity named %(name)s exists already.") % {"name": repr(name)}
    if taken.exists():
        raise ApplicationError(taken_message, field="name")
    activity = activity or ProcessingActivity()
    activity.name = name
    activity.description = description.strip()
    activity.joint_controllers = joint_controllers.strip()
    activity.data_subject_categories = one_line(data_subject_categories) or "Customers"
    activity.security_measures = security_measures.strip()
    history_user_set(activity, actor)
    try:
        with transaction.atomic():  # two people creating the same name at once: one wins
            activity.save()
    except IntegrityError:
        raise ApplicationError(taken_message, field="name") from None
    activity.purposes.set(purposes)
    audit_record(
        actor=actor,
        action=AuditAction.RECORD_ACTIVITY_SAVE,
        target=activity,
        detail={"name": name, "purposes": sorted(p.key for p in purposes)},
    )
    return activity


@transaction.atomic
def processing_record_exported(*, actor: User, file_format: str, as_of: str, rows: int) -> None:
    """Write the audit event ``record.export`` for one export of the record (``file_format``
    ``csv``, ``xlsx``, ``print`` or ``api``; ``as_of`` an ISO date or ``""`` for today).
    Only compliance and legal read the record (else ``NotAllowed``)."""
    if not may_read_record(actor):
        raise NotAllowed(_("Only compliance and legal read the record."))
    audit_record(
        actor=actor,
        action=AuditAction.RECORD_EXPORT,
        detail={"format": file_format, "as_of": as_of, "rows": rows},
    )
