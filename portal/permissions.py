"""Who may open the portal core's pages: what a user may not see is a 404, never a 403."""

from django.http import Http404

from portal import roles


def check_audit_log_reader(user) -> None:
    """Only compliance reads the audit log; to everyone else it does not exist."""
    if not roles.is_compliance(user):
        raise Http404
