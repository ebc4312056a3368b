"""Who holds which role.

Compliance and legal are Django groups (created by a data migration); a data owner is the
owner of a ``DataAsset``; an administrator holds no business permission by being one.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from portal.errors import NotAllowed

COMPLIANCE = "Compliance"
LEGAL = "Legal"
ROLE_GROUPS = (COMPLIANCE, LEGAL)


def group_names(user) -> frozenset[str]:
    """The names of the user's groups, read once per user object."""
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_portal_group_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._portal_group_names = cached
    return cached


def forget_groups(user) -> None:
    """Drop the cached group names after a membership change."""
    user.__dict__.pop("_portal_group_names", None)


def is_compliance(user) -> bool:
    return COMPLIANCE in group_names(user)


def is_legal(user) -> bool:
    return LEGAL in group_names(user)


def is_compliance_or_legal(user) -> bool:
    return bool(group_names(user) & set(ROLE_GROUPS))


def role_members(*group_names: str) -> QuerySet:
    """The active people holding any of the role groups ``group_names`` (``COMPLIANCE``,
    ``LEGAL``), each once: who is notified as, or decides for, a role. A deactivated
    account holds no role."""
    return get_user_model().objects.filter(groups__name__in=group_names, is_active=True).distinct()


def require_compliance(actor, doing: str) -> None:
    """Services: raise ``NotAllowed`` (a 403) ``Only a compliance officer can <doing>.``
    unless ``actor`` is a member of Compliance (``None``, the system, is not). ``doing`` is
    a phrase in the active language (callers mark it for translation)."""
    if not is_compliance(actor):
        raise NotAllowed(_("Only a compliance officer can %(doing)s.") % {"doing": doing})
