"""A purpose's lawful basis: compliance changes it, with a reason.

The lawful basis decides who is eligible: a purpose whose basis is
not consent may use every customer of an asset collected for it (design.md, consent
coverage), so the change is compliance's alone, never the Django admin's.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from consent.coverage_cache import coverage_changed
from consent.models import LawfulBasis, Purpose
from portal import roles
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError
from portal.history import save_with_history
from portal.models import User
from portal.reasons import clean_reason


@transaction.atomic
def purpose_lawful_basis_change(
    *, actor: User, purpose: Purpose, lawful_basis: str, reason: str
) -> Purpose:
    """Set the lawful basis (GDPR Art. 6(1): ``contract``, ``legal_obligation``,
    ``legitimate_interest`` or ``consent``) that ``purpose`` relies on.

    Guarantees: only a member of Compliance (else ``NotAllowed``); a known basis different
    from the current one (else ``ApplicationError`` on ``lawful_basis``); a reason of at
    least a sentence (on ``reason``). The purpose's row is locked, its history row carries
    the reason, the audit event ``purpose.lawful_basis_change`` the bases before and after,
    and every cached coverage is forgotten on commit.
    """
    roles.require_compliance(actor, _("change a purpose's lawful basis"))
    if lawful_basis not in LawfulBasis.values:
        raise ApplicationError(
            _("Unknown lawful basis %(value)s.") % {"value": repr(lawful_basis)},
            field="lawful_basis",
        )
    reason = clean_reason(reason, kept_in=_("the purpose's history"))
    purpose = Purpose.objects.select_for_update().get(pk=purpose.pk)
    before = purpose.lawful_basis
    if before == lawful_basis:
        raise ApplicationError(
            _("%(purpose)s already relies on %(basis)s.")
            % {"purpose": purpose.key, "basis": purpose.get_lawful_basis_display().lower()},
            field="lawful_basis",
        )
    purpose.lawful_basis = lawful_basis
    # The history keeps the reason cut to 100 characters; the audit event keeps it all.
    save_with_history(purpose, actor=actor, reason=reason, update_fields=["lawful_basis"])
    coverage_changed()
    audit_record(
        actor=actor,
        action=AuditAction.PURPOSE_LAWFUL_BASIS_CHANGE,
        target=purpose,
        detail={"from": before, "to": lawful_basis, "reason": reason},
    )
    return purpose
