"""The site's URLs: the pages of every app, the JSON API under /api/ and the admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from customers import api as customers_api
from incidents import api as incidents_api
from portal import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("assets", customers_api.AssetViewSet, basename="asset")
router.register("incidents", incidents_api.IncidentViewSet, basename="incident")

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("assets/", include("customers.urls")),
    path("incidents/", include("incidents.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(router.urls)),
    path("admin/", admin.site.urls),
]

handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"
