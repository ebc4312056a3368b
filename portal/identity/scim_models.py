"""The SCIM 2.0 resources the portal serves, as scim2-models classes: the attributes it
keeps, and nothing else, so the schemas it publishes promise only what it stores.

Users (RFC 7643 §4.1): ``userName``, ``name.givenName``/``familyName``, ``emails`` (one,
the first), ``active`` (required here), ``externalId``, ``groups`` (read-only) and the enterprise
extension's ``department`` and ``manager`` (§4.3). Groups (§4.2): ``displayName`` and
``members`` (users only). scim2-models (python-scim) validates the payloads, applies PATCH
operations and writes the schemas; it is the library scim2-tester checks against.
"""

from typing import Annotated, Any

from pydantic import EmailStr, Field
from scim2_models import (
    URN,
    CaseExact,
    ComplexAttribute,
    Extension,
    GroupMembership,
    Manager,
    Mutability,
    Reference,
    Required,
    Resource,
    ScimPolicy,
    Uniqueness,
)

# Robustness (RFC 7644 §3.3: attributes the service provider does not support are ignored):
# a directory sends more than the portal keeps (titles, phone numbers, an e-mail's type);
# what the published schemas do not declare is dropped, never an error.
POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.ignore)

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class Name(ComplexAttribute):
    """The components of the user's real name."""

    family_name: str | None = None
    given_name: str | None = None


class Email(ComplexAttribute):
    """An e-mail address; the portal keeps one, the first sent (``primary`` and ``type``
    are accepted and ignored, as every attribute the portal does not keep)."""

    value: EmailStr | None = None


class EnterpriseUser(Extension):
    """Enterprise User: the department and the manager (a change makes a mover)."""

    __schema__ = URN(ENTERPRISE_SCHEMA)

    department: str | None = None
    manager: Manager | None = None


class User(Resource[EnterpriseUser]):
    """User Account"""

    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    name: Name | None = None
    # Required: the portal must know whether the account may sign in; a directory that
    # removed it would leave that unsaid (scim2-tester checks a removal is honoured).
    active: Annotated[bool | None, Required.true] = None
    emails: list[Email] | None = None
    groups: Annotated[list[GroupMembership] | None, Mutability.read_only] = None


class GroupMember(ComplexAttribute):
    """A member of a group: a user, by id."""

    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    ref: Annotated[Reference["User"] | None, Mutability.immutable] = Field(  # type: ignore[type-arg]
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])


class Group(Resource[Any]):
    """Group"""

    __schema__ = URN(GROUP_SCHEMA)

    display_name: Annotated[str | None, Required.true] = None
    members: list[GroupMember] | None = None


# The User resource with its enterprise extension, as endpoints read and write it.
UserWithExtension: Any = User[EnterpriseUser]


def ref(url: str) -> Any:
    """A ``$ref`` value: the absolute URL of a resource (pydantic makes it a Reference)."""
    return url
