"""SCIM filters (RFC 7644 §3.4.2.2) as database conditions.

scim2-models parses the filter; this turns its tree into a Django ``Q`` over the
attributes the portal stores. Supported: ``eq``, ``ne``, ``co``, ``sw``, ``ew``, ``pr``,
``and``, ``or``, ``not``, on the attributes listed in ``USER_ATTRIBUTES`` and
``GROUP_ATTRIBUTES``; anything else is a 400 ``invalidFilter`` naming what is not
supported. Case: ``userName``, e-mails, names and ``displayName`` compare without case
(their ``caseExact`` is false), ids and ``externalId`` exactly.
"""

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path.expressions import Comparison, LogicalExpr, Not, Present

from portal.input_limits import as_id

# SCIM attribute path (lower case) -> (model field, compares without case).
USER_ATTRIBUTES: dict[str, tuple[str, bool]] = {
    "id": ("pk", False),
    "username": ("username", True),
    "externalid": ("scim_external_id", False),
    "active": ("is_active", False),
    "emails": ("email", True),
    "emails.value": ("email", True),
    "name.givenname": ("first_name", True),
    "name.familyname": ("last_name", True),
    "department": ("department", True),
    "manager.value": ("manager_id", False),
    "manager": ("manager_id", False),
}
GROUP_ATTRIBUTES: dict[str, tuple[str, bool]] = {
    "id": ("pk", False),
    "displayname": ("name", True),
    "externalid": ("directory__external_id", False),
    "members": ("user__pk", False),
    "members.value": ("user__pk", False),
}
LOOKUPS = {"eq": "exact", "ne": "exact", "co": "contains", "sw": "startswith", "ew": "endswith"}
MAX_FILTER = 1000


def filter_q(text: str, attributes: dict[str, tuple[str, bool]]) -> Q:
    """The condition a SCIM filter ``text`` sets on the model ``attributes`` map. Raises
    ``InvalidFilterException`` (400) for a filter that is malformed, too long (1,000
    characters) or uses what the portal does not support."""
    if len(text) > MAX_FILTER:
        raise InvalidFilterException(
            detail=_("A filter has at most %(max)s characters.") % {"max": MAX_FILTER}
        )
    return _node(ScimFilter(text).ast, attributes)


def _node(node: Any, attributes: dict[str, tuple[str, bool]]) -> Q:
    if isinstance(node, LogicalExpr):
        terms = [_node(term, attributes) for term in node.terms]
        combined = terms[0]
        for term in terms[1:]:
            combined = (combined & term) if node.op.value == "and" else (combined | term)
        return combined
    if isinstance(node, Not):
        return ~_node(node.expr, attributes)
    if isinstance(node, Present):
        field, _caseless = _field(node.attr_path, attributes)
        if field in ("pk", "is_active"):
            return Q()  # every resource has an id and an active flag
        if field in ("manager_id", "user__pk"):
            return Q(**{f"{field}__isnull": False})
        return Q(**{f"{field}__isnull": False}) & ~Q(**{field: ""})
    if isinstance(node, Comparison):
        return _comparison(node, attributes)
    raise InvalidFilterException(detail=_("Not supported in a filter: %(node)s.") % {"node": node})


def _field(attr_path: Any, attributes: dict[str, tuple[str, bool]]) -> tuple[str, bool]:
    name = attr_path.attr + (f".{attr_path.sub_attr}" if attr_path.sub_attr else "")
    if name.lower() not in attributes:
        raise InvalidFilterException(
            detail=_("The portal cannot filter on %(name)s.") % {"name": repr(name)}
        )
    return attributes[name.lower()]


def _comparison(node: Comparison, attributes: dict[str, tuple[str, bool]]) -> Q:
    field, caseless = _field(node.attr_path, attributes)
    op = node.op.value
    if op not in LOOKUPS:
        raise InvalidFilterException(
            detail=_("The operator %(op)s is not supported.") % {"op": repr(op)}
        )
    value = node.value
    if field in ("pk", "manager_id", "user__pk"):
        # An id as portal.input_limits reads it: ASCII digits within a bigint, else no row.
        value = as_id(value) if isinstance(value, str) else None
        if value is None or op not in ("eq", "ne"):
            return Q(pk__in=[]) if op == "eq" else Q()
    elif field == "is_active":
        if not isinstance(value, bool) or op not in ("eq", "ne"):
            raise InvalidFilterException(detail="active compares with eq or ne to true or false.")
    elif not isinstance(value, str):
        raise InvalidFilterException(
            detail=_("%(attribute)s compares to a string.") % {"attribute": node.attr_path}
        )
    lookup = LOOKUPS[op]
    if caseless and field not in ("pk", "is_active"):
        lookup = "i" + lookup
    condition = Q(**{f"{field}__{lookup}": value})
    return ~condition if op == "ne" else condition
