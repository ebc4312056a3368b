"""Per-object loaders: an object the user may not see is a 404, never a 403."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from guardian.shortcuts import get_user_perms

from customers.models.access import AccessGrant, AccessLevel, AccessRequest
from customers.models.access_reviews import AccessReview, AccessReviewItem
from customers.models.catalogue import Customer
from customers.selectors.access import access_request_list_for, access_requests_waiting_for
from customers.selectors.access_reviews import review_item_list_for, review_list_for
from customers.selectors.grants import grant_list_for
from customers.visibility import get_customer_for_user
from portal.compiled_queries import CompiledQuery
from portal.display import datetime_text
from portal.input_limits import as_id
from portal.permissions import check_compliance_page


def get_access_request_for_user(user, pk) -> AccessRequest:
    """A request its requester, the asset's owner, compliance, legal or a decider of one of
    its steps may see; 404 for anyone else."""
    visible = access_request_list_for(user)
    request = visible.filter(pk=pk).first()
    if request is None:
        request = access_requests_waiting_for(user).filter(pk=pk).first()
    if request is None:
        raise Http404(_("No such request."))
    return request


def get_grant_for_user(user, pk) -> AccessGrant:
    """A grant its holder, the asset's owner or compliance may see; 404 for anyone else."""
    return get_object_or_404(grant_list_for(user), pk=pk)


def get_grant_for_reading(user, pk, *, export: bool = False) -> AccessGrant:
    """The caller's own grant, usable right now, for reading records (or exporting).

    Someone else's grant is a 404 even for compliance: records are read only through one's
    own grant. Raises ``PermissionDenied`` (403) for a revoked or expired grant, checked
    here on every read so a late expiry job never extends access; for an export through a
    view-only grant; and when the holder no longer has the grant's object permission
    themselves (a group's permission, or being a superuser, does not stand in for it).
    """
    grant_id = as_id(pk)
    found = (
        [] if grant_id is None or user.pk is None else _OWN_GRANT.objects(None, (grant_id, user.pk))
    )
    if not found:
        raise Http404
    grant = found[0]
    if grant.revoked_at:
        raise PermissionDenied(
            _("This grant was revoked on %(when)s.") % {"when": datetime_text(grant.revoked_at)}
        )
    if not grant.is_active():
        raise PermissionDenied(
            _("This grant expired on %(when)s.") % {"when": datetime_text(grant.expires_at)}
        )
    if export and grant.level != AccessLevel.EXPORT:
        raise PermissionDenied(_("This grant allows viewing only, not exporting."))
    # The grant's object permission is the holder's own (``grant_create`` assigns it to
    # the person, never to a group): read only theirs, one statement, where ``has_perm``
    # also reads their groups' (guardian's ``get_user_perms``; none for an inactive user).
    codename = "export_records" if export else "view_records"
    if codename not in get_user_perms(user, grant.asset):
        raise PermissionDenied(_("Your permission on this asset has been removed."))
    return grant


# The grant read on every records page and export: compiled once (``CompiledQuery``), the
# grant's id and its holder's the values.
_OWN_GRANT = CompiledQuery(
    lambda shape, values: AccessGrant.objects.select_related("asset", "purpose", "user").filter(
        pk=values[0], user=values[1]
    )
)


def get_subject_request_for_user(user, pk):
    """A data subject request: compliance only; 404 for everyone else."""
    from customers.selectors.subject_requests import subject_request_list_for

    return get_object_or_404(subject_request_list_for(user), pk=pk)


def get_erasure_task_for_owner(user, pk, *, request_pk=None):
    """An erasure task, for its owner only: 404 for anyone else, compliance included (the
    owner confirms what was deleted in their own systems)."""
    from customers.selectors.subject_requests import erasure_tasks_of

    tasks = erasure_tasks_of(user)
    if request_pk is not None:
        tasks = tasks.filter(request_id=request_pk)
    return get_object_or_404(tasks, pk=pk)


def get_customer_footprint_for_user(user, pk) -> Customer:
    """A customer whose footprint ``user`` may see: compliance only (legal looks customers
    up, but the footprint with every grant and export is compliance's); 404 otherwise."""
    check_compliance_page(user)
    return get_customer_for_user(user, pk)


def get_review_for_user(user, pk) -> AccessReview:
    """A campaign compliance or one of its reviewers may see; 404 for anyone else."""
    return get_object_or_404(review_list_for(user), pk=pk)


def get_review_item_for_user(user, pk) -> AccessReviewItem:
    """A review item its reviewer or compliance may see; 404 for anyone else."""
    return get_object_or_404(review_item_list_for(user).select_related("review"), pk=pk)
