"""The ``/scim/v2/`` endpoints (RFC 7644): Users, Groups, and the discovery endpoints.

Every request needs ``Authorization: Bearer <token>`` with a token an administrator created
(``portal.identity.scim_tokens``); anything else is 401. Answers are
``application/scim+json``; every refusal is a SCIM ``Error`` with its status (400 for bad
input, naming what is wrong, 404, 409, 501), never a 500. Payloads are read and written by
scim2-models; the writes go through ``scim_users`` and ``scim_groups``.
"""

import json
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Group as DjangoGroup
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    NotImplementedException,
    PatchOp,
    ResponseParameters,
    SCIMException,
    SearchRequest,
)

from portal.errors import NotAllowed
from portal.identity import scim_groups, scim_users
from portal.identity.scim_filters import GROUP_ATTRIBUTES, USER_ATTRIBUTES, filter_q
from portal.identity.scim_models import POLICY, Group, UserWithExtension
from portal.identity.scim_tokens import scim_token_authenticate
from portal.input_limits import ID_MAX, MAX_JSON_DEPTH, json_problem

CONTENT_TYPE = "application/scim+json"
MAX_COUNT = 200


def _json(payload: dict, status: int = 200, location: str = "") -> HttpResponse:
    response = HttpResponse(json.dumps(payload), content_type=CONTENT_TYPE, status=status)
    if location:
        response["Location"] = location
    return response


def _error(status: int, detail: str, scim_type: str = "") -> HttpResponse:
    error = Error(status=status, detail=detail, scim_type=scim_type or None)
    response = _json(error.model_dump(scim_ctx=Context.DEFAULT), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="scim"'  # i18n: not shown (a protocol token)
    return response


def base_url(request: HttpRequest) -> str:
    """The absolute ``/scim/v2`` URL of this request, without a final slash."""
    return request.build_absolute_uri("/scim/v2").rstrip("/")


def _body(request: HttpRequest) -> Any:
    try:
        data = json.loads(request.body.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidSyntaxException(detail=_("The body is not JSON.")) from None
    # The portal's JSON limits (portal.input_limits): no deep nesting, no NUL anywhere.
    problem = json_problem(data)
    if problem == ("depth", ""):
        raise InvalidSyntaxException(
            detail=_("The body nests more than %(depth)s levels.") % {"depth": MAX_JSON_DEPTH}
        )
    if problem is not None:
        raise InvalidValueException(
            detail=_("%(field)s holds a NUL character (\\x00).") % {"field": problem[1]}
        )
    return data


def _parameters(request: HttpRequest) -> ResponseParameters:
    return ResponseParameters.model_validate(
        {
            "attributes": request.GET.get("attributes") or None,
            "excludedAttributes": request.GET.get("excludedAttributes") or None,
        }
    )


@method_decorator(csrf_exempt, name="dispatch")
class ScimView(View):
    """Authentication and the translation of refusals into SCIM errors, for every endpoint."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = scim_token_authenticate(request.headers.get("Authorization", ""))
        if token is None:
            return _error(401, _("A valid SCIM bearer token is required."))
        request.scim_token = token  # type: ignore[attr-defined]
        if request.method.lower() not in self.http_method_names:
            return _error(405, _("%(method)s is not allowed here.") % {"method": request.method})
        try:
            return super().dispatch(request, *args, **kwargs)
        except SCIMException as exc:
            return _error(exc.status, exc.detail, exc.scim_type)
        except ValidationError as exc:
            messages = "; ".join(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                for error in exc.errors()[:5]
            )
            return _error(400, messages or _("Invalid value."), "invalidValue")
        except NotAllowed as exc:
            return _error(403, exc.message)

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return _error(405, _("%(method)s is not allowed here.") % {"method": request.method})


class _Resources(ScimView):
    """A resource type's endpoint: the list (GET), creation (POST), one resource (GET,
    PUT, PATCH, DELETE). Subclasses say which model, loader and writers."""

    http_method_names = ["get", "post", "put", "patch", "delete"]
    model: Any
    attributes: dict[str, tuple[str, bool]]
    get_one: Callable[[str], Any]
    to_scim: Callable[[Any, str], Any]

    def rows(self) -> QuerySet:
        raise NotImplementedError

    def save(self, row: Any, resource: Any) -> Any:
        raise NotImplementedError

    def remove(self, row: Any) -> None:
        raise NotImplementedError

    def _resource(self, request: HttpRequest, row: Any, status: int = 200) -> HttpResponse:
        resource = type(self).to_scim(row, base_url(request))
        payload = resource.model_dump(
            scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=_parameters(request)
        )
        return _json(payload, status=status, location=resource.meta.location)

    def _payload(self, request: HttpRequest, ctx: Context) -> Any:
        body = _body(request)
        if not isinstance(body, dict):
            raise InvalidSyntaxException(detail=_("The body must be a JSON object."))
        return self.model.model_validate(body, scim_ctx=ctx, scim_policy=POLICY)

    def get(self, request: HttpRequest, resource_id: str = "") -> HttpResponse:
        if resource_id:
            return self._resource(request, type(self).get_one(resource_id))
        search = SearchRequest.model_validate(
            {
                "filter": request.GET.get("filter") or None,
                "startIndex": request.GET.get("startIndex") or None,
                "count": request.GET.get("count") or None,
                "attributes": request.GET.get("attributes") or None,
                "excludedAttributes": request.GET.get("excludedAttributes") or None,
            }
        )
        return self.listing(request, search)

    def listing(self, request: HttpRequest, search: SearchRequest) -> HttpResponse:
        """One page of the resources matching ``search`` (filter, startIndex, count)."""
        rows = self.rows()
        if search.filter:
            rows = rows.filter(filter_q(str(search.filter), self.attributes)).distinct()
        # Beyond the last row a page is empty; capped so the OFFSET stays within a bigint.
        start = min(max(search.start_index or 1, 1), ID_MAX)
        count = min(max(search.count if search.count is not None else 100, 0), MAX_COUNT)
        total = rows.count()
        base = base_url(request)
        page = list(rows.order_by("pk")[start - 1 : start - 1 + count]) if count else []
        listing = ListResponse[self.model](  # type: ignore[name-defined]
            total_results=total,
            start_index=start,
            items_per_page=len(page),
            resources=[type(self).to_scim(row, base) for row in page] or None,
        )
        payload = listing.model_dump(
            scim_ctx=Context.SEARCH_RESPONSE,
            response_parameters=ResponseParameters(
                attributes=search.attributes, excluded_attributes=search.excluded_attributes
            ),
        )
        return _json(payload)

    def post(self, request: HttpRequest, resource_id: str = "") -> HttpResponse:
        if resource_id == ".search":
            body = _body(request)
            if not isinstance(body, dict):
                raise InvalidSyntaxException(detail=_("The body must be a SearchRequest object."))
            return self.listing(request, SearchRequest.model_validate(body, scim_policy=POLICY))
        if resource_id:
            raise NotImplementedException(detail="POST goes to the collection.")
        resource = self._payload(request, Context.RESOURCE_CREATION_REQUEST)
        return self._resource(request, self.save(None, resource), status=201)

    def put(self, request: HttpRequest, resource_id: str = "") -> HttpResponse:
        row = type(self).get_one(resource_id)
        resource = self._payload(request, Context.RESOURCE_REPLACEMENT_REQUEST)
        return self._resource(request, self.save(row, resource))

    def patch(self, request: HttpRequest, resource_id: str = "") -> HttpResponse:
        row = type(self).get_one(resource_id)
        body = _body(request)
        if not isinstance(body, dict):
            raise InvalidSyntaxException(detail=_("The body must be a PatchOp object."))
        patch = PatchOp[self.model].model_validate(  # type: ignore[name-defined]
            body, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
        resource = type(self).to_scim(row, base_url(request))
        if patch.patch(resource, scim_policy=POLICY):
            row = self.save(row, resource)
        return self._resource(request, row)

    def delete(self, request: HttpRequest, resource_id: str = "") -> HttpResponse:
        self.remove(type(self).get_one(resource_id))
        return HttpResponse(status=204)


class UsersView(_Resources):
    model = UserWithExtension
    attributes = USER_ATTRIBUTES
    get_one = staticmethod(scim_users.user_get)
    to_scim = staticmethod(scim_users.user_to_scim)

    def rows(self) -> QuerySet:
        return scim_users.scim_users().select_related("manager").prefetch_related("groups")

    def save(self, row: Any, resource: Any) -> Any:
        if row is None:
            return scim_users.user_create(resource)
        return scim_users.user_replace(row, resource)

    def remove(self, row: Any) -> None:
        scim_users.user_delete(row)


class GroupsView(_Resources):
    model = Group
    attributes = GROUP_ATTRIBUTES
    get_one = staticmethod(scim_groups.group_get)
    to_scim = staticmethod(scim_groups.group_to_scim)

    def rows(self) -> QuerySet:
        return scim_groups.scim_groups_listed()

    def save(self, row: Any, resource: Any) -> Any:
        return scim_groups.group_save(row if row is not None else DjangoGroup(), resource)

    def remove(self, row: Any) -> None:
        scim_groups.group_delete(row)
