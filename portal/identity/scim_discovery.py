"""SCIM discovery (RFC 7644 §4): what the portal's SCIM service supports, its resource
types and their schemas, all derived from ``scim_models`` so they cannot drift apart."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    Filter,
    ListResponse,
    Meta,
    NotFoundException,
    NotImplementedException,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
)

from portal.identity.scim_models import EnterpriseUser, Group, User, UserWithExtension
from portal.identity.scim_views import MAX_COUNT, ScimView, _json, base_url

SCHEMAS = {
    schema.id: schema
    for schema in (User.to_schema(), EnterpriseUser.to_schema(), Group.to_schema())
}


def _resource_types(base: str) -> dict[str, ResourceType]:
    types = {}
    for model in (UserWithExtension, Group):
        resource_type = ResourceType.from_resource(model)
        resource_type.meta = Meta(
            resource_type="ResourceType", location=f"{base}/ResourceTypes/{resource_type.id}"
        )
        types[str(resource_type.id)] = resource_type
    return types


def _schemas(base: str) -> dict[str, Schema]:
    return {
        key: schema.model_copy(
            update={"meta": Meta(resource_type="Schema", location=f"{base}/Schemas/{key}")}
        )
        for key, schema in SCHEMAS.items()
    }


def _one_or_all(items: dict[str, Any], key: str, what: str, model: Any) -> dict:
    if key:
        if key not in items:
            raise NotFoundException(
                detail=_("No %(what)s %(key)s.") % {"what": what, "key": repr(key[:80])}
            )
        return items[key].model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    listing = ListResponse[model](  # type: ignore[valid-type]
        total_results=len(items),
        start_index=1,
        items_per_page=len(items),
        resources=list(items.values()),
    )
    return listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE)


class ServiceProviderConfigView(ScimView):
    http_method_names = ["get"]

    def get(self, request: HttpRequest) -> HttpResponse:
        config = ServiceProviderConfig(
            patch=Patch(supported=True),
            bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
            filter=Filter(supported=True, max_results=MAX_COUNT),
            change_password=ChangePassword(supported=False),
            sort=Sort(supported=False),
            etag=ETag(supported=False),
            authentication_schemes=[
                AuthenticationScheme(
                    type="oauthbearertoken",
                    name="Bearer token",  # i18n: not shown (protocol document)
                    description=(
                        "A token an administrator creates:"  # i18n: not shown (protocol)
                        " manage.py create_scim_token"
                    ),
                    primary=True,
                )
            ],
            meta=Meta(
                resource_type="ServiceProviderConfig",
                location=f"{base_url(request)}/ServiceProviderConfig",
            ),
        )
        return _json(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


class ResourceTypesView(ScimView):
    http_method_names = ["get"]

    def get(self, request: HttpRequest, key: str = "") -> HttpResponse:
        return _json(
            _one_or_all(_resource_types(base_url(request)), key, _("resource type"), ResourceType)
        )


class SchemasView(ScimView):
    http_method_names = ["get"]

    def get(self, request: HttpRequest, key: str = "") -> HttpResponse:
        return _json(_one_or_all(_schemas(base_url(request)), key, _("schema"), Schema))


class RootSearchView(ScimView):
    """``POST /.search`` over every resource type: not supported (501, RFC 7644 §3.4.3)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        raise NotImplementedException(detail=_("Search /Users/.search or /Groups/.search."))


class NotFoundView(ScimView):
    """Any other path under ``/scim/v2/``: a SCIM 404."""

    http_method_names = ["get", "post", "put", "patch", "delete"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        kwargs.pop("rest", None)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        raise NotFoundException(detail=_("No such SCIM endpoint."))

    post = put = patch = delete = get
