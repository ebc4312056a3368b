"""Who may record consent, import it, and act on shared data: each rule once.

Services call the ``require_*`` functions (they raise ``portal.errors.NotAllowed``, a 403 on
a page and in the API); views and templates call the ``may_*`` ones to show or hide a form,
and a view or endpoint calls ``require_*`` itself only where the refusal must come before
its input is read. Whether a person may *see* a customer or a sharing request is not here:
the loaders answer 404 for that.
"""

from django.utils.translation import gettext as _

from portal import roles
from portal.errors import NotAllowed


def may_record_consent(user) -> bool:
    """Record a consent or a withdrawal, by hand: members of Compliance only."""
    return roles.is_compliance(user)


def require_may_record_consent(user) -> None:
    """``NotAllowed`` unless ``may_record_consent(user)``."""
    if not may_record_consent(user):
        raise NotAllowed(_("Only a compliance officer can record consent."))


def may_import_consent(user) -> bool:
    """Import consent records from a CSV file: members of Compliance only."""
    return roles.is_compliance(user)


def require_may_import_consent(user) -> None:
    """``NotAllowed`` unless ``may_import_consent(user)``."""
    roles.require_compliance(user, _("import consent records"))


def may_forward_withdrawal(user, sharing_request) -> bool:
    """Mark a withdrawal forwarded to the recipient (GDPR Art. 19): the person who asked
    for the sharing, or a member of Compliance."""
    return user.pk == sharing_request.requester_id or roles.is_compliance(user)


def require_may_forward_withdrawal(user, sharing_request) -> None:
    """``NotAllowed`` unless ``may_forward_withdrawal(user, sharing_request)``."""
    if not may_forward_withdrawal(user, sharing_request):
        raise NotAllowed(_("Only the requester or compliance can mark a withdrawal forwarded."))


def may_record_recipient_deletion(user) -> bool:
    """Record that a recipient confirmed deleting shared data: members of Compliance."""
    return roles.is_compliance(user)


def require_may_record_recipient_deletion(user) -> None:
    """``NotAllowed`` unless ``may_record_recipient_deletion(user)``."""
    if not may_record_recipient_deletion(user):
        raise NotAllowed(_("Only a compliance officer records a recipient's deletion."))


def may_read_record(user) -> bool:
    """Read and export the record of processing activities (GDPR Art. 30): compliance and
    legal, who answer the supervisory authority; to anyone else the record does not exist
    (the pages and the API answer 404, ``consent.permissions.check_record_reader``)."""
    return roles.is_compliance_or_legal(user)


def may_edit_record(user) -> bool:
    """Name processing activities and map them to purposes: members of Compliance only."""
    return roles.is_compliance(user)
