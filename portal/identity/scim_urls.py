"""The ``/scim/v2/`` URLs (RFC 7644 §3.2), included by ``portal/urls.py``."""

from django.urls import path, re_path

from portal.identity import scim_discovery, scim_views

app_name = "scim"

urlpatterns = [
    path("Users", scim_views.UsersView.as_view(), name="users"),
    path("Users/<str:resource_id>", scim_views.UsersView.as_view(), name="user"),
    path("Groups", scim_views.GroupsView.as_view(), name="groups"),
    path("Groups/<str:resource_id>", scim_views.GroupsView.as_view(), name="group"),
    path(
        "ServiceProviderConfig",
        scim_discovery.ServiceProviderConfigView.as_view(),
        name="service-provider-config",
    ),
    path("ResourceTypes", scim_discovery.ResourceTypesView.as_view(), name="resource-types"),
    path(
        "ResourceTypes/<str:key>",
        scim_discovery.ResourceTypesView.as_view(),
        name="resource-type",
    ),
    path("Schemas", scim_discovery.SchemasView.as_view(), name="schemas"),
    path("Schemas/<str:key>", scim_discovery.SchemasView.as_view(), name="schema"),
    path(".search", scim_discovery.RootSearchView.as_view(), name="search"),
    re_path(r"^(?P<rest>.*)$", scim_discovery.NotFoundView.as_view(), name="not-found"),
]
