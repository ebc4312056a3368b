"""SCIM Groups: the portal's groups as the directory sees them.

Every Django group is a SCIM Group; its members are users. Two carry a portal role, by
name: ``Compliance`` and ``Legal`` (``portal.roles``), the same groups the identity
provider's group claim maps to at sign-in. The directory may add and remove their members
(each change is audited ``group.member_add``/``group.member_remove`` by
``portal.signals``), but may neither rename nor delete them, nor give another group one of
their names: that would hand its members a role silently. Any other group the directory
pushes is kept and carries no permission in the portal.
"""

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from scim2_models import (
    InvalidValueException,
    Meta,
    MutabilityException,
    NotFoundException,
    UniquenessException,
)

from portal import roles
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import NotAllowed
from portal.identity.scim_models import Group as ScimGroup
from portal.identity.scim_models import GroupMember, ref
from portal.identity.scim_users import scim_users
from portal.input_limits import as_id
from portal.models import DirectoryGroup, User


def scim_groups() -> QuerySet[Group]:
    """Every group, with what its SCIM form reads."""
    return Group.objects.select_related("directory").order_by("pk")


def scim_groups_listed() -> QuerySet[Group]:
    """``scim_groups`` for a list page: the members of a whole page in one query
    (``group_to_scim`` reads them); a group that is then changed is read again."""
    members = Prefetch(
        "user_set", queryset=scim_users().only("pk").order_by("pk"), to_attr="scim_members"
    )
    return scim_groups().prefetch_related(members)


def group_get(resource_id: str) -> Group:
    """The group of SCIM id ``resource_id``; ``NotFoundException`` (404) for anything else."""
    pk = as_id(resource_id)
    if pk is None:
        raise NotFoundException(detail=_("No group %(id)s.") % {"id": repr(resource_id[:40])})
    group = scim_groups().filter(pk=pk).first()
    if group is None:
        raise NotFoundException(detail=_("No group %(id)s.") % {"id": repr(resource_id)})
    return group


def _external_id(group: Group) -> str:
    try:
        return group.directory.external_id
    except DirectoryGroup.DoesNotExist:
        return ""


def _members_of(group: Group) -> list[User]:
    return list(scim_users().filter(groups=group).only("pk").order_by("pk"))


def group_to_scim(group: Group, base: str) -> ScimGroup:
    """``group`` as a SCIM Group (members: its users that are SCIM resources)."""
    # Prefetched by scim_groups_listed for a page of groups; read here for one group.
    people = group.scim_members if hasattr(group, "scim_members") else _members_of(group)
    members = [user.pk for user in people]
    return ScimGroup(
        id=str(group.pk),
        external_id=_external_id(group) or None,
        display_name=group.name,
        members=[
            GroupMember(value=str(pk), ref=ref(f"{base}/Users/{pk}"), type="User") for pk in members
        ]
        or None,
        meta=Meta(resource_type="Group", location=f"{base}/Groups/{group.pk}"),
    )


def _clean_name(group: Group, value: str | None) -> str:
    name = (value or "").strip()
    if not 1 <= len(name) <= 150:
        raise InvalidValueException(detail="displayName: 1 to 150 characters.")
    if group.pk and group.name in roles.ROLE_GROUPS and name != group.name:
        raise MutabilityException(
            detail=_("%(group)s is a portal role: it keeps its name.") % {"group": group.name}
        )
    if name in roles.ROLE_GROUPS and group.name != name:
        raise UniquenessException(
            detail=_("%(group)s is a portal role and exists already.") % {"group": name}
        )
    if Group.objects.filter(name=name).exclude(pk=group.pk).exists():
        raise UniquenessException(detail=_("displayName %(name)s is taken.") % {"name": repr(name)})
    return name


def _members(resource: ScimGroup) -> list[User]:
    wanted = {member.value or "" for member in resource.members or []}
    ids = {pk for value in wanted if (pk := as_id(value)) is not None}
    users = list(scim_users().filter(pk__in=ids)) if len(ids) == len(wanted) else []
    if len(users) != len(wanted):
        raise InvalidValueException(detail="members: every member must be an existing user.")
    return users


@transaction.atomic
def group_save(group: Group, resource: ScimGroup) -> Group:
    """Create (``group`` unsaved) or replace a group from ``resource``: its name, the
    directory's id for it, its members. Raises ``MutabilityException`` (renaming a role
    group), ``UniquenessException`` (a taken name), ``InvalidValueException`` (a bad
    name or an unknown member)."""
    creating = group.pk is None
    group.name = _clean_name(group, resource.display_name)
    members = _members(resource)
    group.save()
    directory, _created = DirectoryGroup.objects.update_or_create(
        group=group, defaults={"external_id": (resource.external_id or "")[:255]}
    )
    group.directory = directory
    group.user_set.set(members)  # role groups: audited member by member (portal.signals)
    if creating:
        audit_record(
            actor=None,
            action=AuditAction.GROUP_CREATE,
            target=group,
            detail={"name": group.name},
            actor_label="scim",
        )
    return group


@transaction.atomic
def group_delete(group: Group) -> None:
    """Delete a group the directory removed; role groups are never deleted (``NotAllowed``,
    403). Its members lose nothing else: the group carried no portal permission."""
    if group.name in roles.ROLE_GROUPS:
        raise NotAllowed(
            _("%(group)s is a portal role: it cannot be deleted.") % {"group": group.name}
        )
    audit_record(
        actor=None,
        action=AuditAction.GROUP_DELETE,
        target=group,
        detail={"name": group.name},
        actor_label="scim",
    )
    group.delete()
