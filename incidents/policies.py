"""Who may work on incidents: the rule once.

Services call ``require_may_triage`` (it raises ``portal.errors.NotAllowed``, a 403 on a
page and in the API); views, endpoints and templates call ``may_triage`` to choose what to
show, and ``require_may_triage`` where the refusal must come before the input is read.
Whether a person may *see* an incident is not here: ``incidents/permissions.py`` answers
404 for that.
"""

from django.utils.translation import gettext as _
from django_stubs_ext import StrOrPromise

from portal import roles
from portal.errors import NotAllowed


def may_triage(user) -> bool:
    """Triage (acknowledge, assign, status, severity, breach, deadlines, notes, duties) and
    see every incident: members of Compliance or Legal."""
    return roles.is_compliance_or_legal(user)


def require_may_triage(user, doing: StrOrPromise = "") -> None:
    """``NotAllowed`` ``Only members of Compliance or Legal can <doing>.`` unless
    ``may_triage(user)``; ``doing`` (translated, in the active language) defaults to "work
    on incidents"."""
    if not may_triage(user):
        raise NotAllowed(
            _("Only members of Compliance or Legal can %(doing)s.")
            % {"doing": doing or _("work on incidents")}
        )


def may_confirm_no_risk(user, incident) -> bool:
    """Confirm that a breach is unlikely to result in a risk (GDPR Art. 33(1): the authority
    is then not notified): a member of Compliance or Legal other than the one who proposed
    it, so that two people decide (design.md, incidents). Whether there is a proposal to
    confirm is a rule of the service, not of the person."""
    return may_triage(user) and incident.no_risk_proposed_by_id != getattr(user, "pk", None)


def require_may_confirm_no_risk(user, incident) -> None:
    """``NotAllowed`` unless ``may_confirm_no_risk(user, incident)``."""
    require_may_triage(user)
    if not may_confirm_no_risk(user, incident):
        raise NotAllowed(_("You proposed it; a second member of Compliance or Legal must confirm."))


def may_handle_alerts(user, alert=None) -> bool:
    """See misuse alerts, dismiss them and open incidents from them: members of Compliance
    (design.md, "GET /api/alerts/: compliance only"), except on an alert about themselves:
    the person concerned never sees it, whatever their role."""
    if not roles.is_compliance(user):
        return False
    return alert is None or not alert.subjects.filter(pk=user.pk).exists()


def require_may_handle_alerts(user, alert=None) -> None:
    """``NotAllowed`` unless ``may_handle_alerts(user, alert)``."""
    if not may_handle_alerts(user, alert):
        raise NotAllowed(_("Only members of Compliance can handle misuse alerts."))
