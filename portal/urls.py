"""The site's URLs: the pages of every app, the JSON API under /api/ and the admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from consent import api as consent_api
from customers import api as customers_api
from incidents import api as incidents_api
from portal import audit_api, notification_api, views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("assets", customers_api.AssetViewSet, basename="asset")
router.register("incidents", incidents_api.IncidentViewSet, basename="incident")
router.register("access-requests", customers_api.AccessRequestViewSet, basename="access-request")
router.register("grants", customers_api.GrantViewSet, basename="grant")
# Consent (issue 5)
router.register("customers", consent_api.CustomerConsentViewSet, basename="customer")
router.register("consents", consent_api.ConsentViewSet, basename="consent")
router.register("notifications", notification_api.NotificationViewSet, basename="notification")

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("customers.urls")),
    path("incidents/", include("incidents.urls")),
    path("", include("consent.urls")),  # /customers/<id>/, /consents/import/
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/read-all/", views.notification_read_all, name="notification_read_all"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(router.urls)),
    # Audit log (issue 4): compliance only, 404 for everyone else.
    path("audit/", views.audit_log, name="audit_log"),
    path("audit/export.csv", views.audit_log_csv, name="audit_log_csv"),
    path("api/audit/", audit_api.AuditEventListView.as_view(), name="api-audit"),
    path("api/audit/verify/", audit_api.AuditVerifyView.as_view(), name="api-audit-verify"),
    path("admin/", admin.site.urls),
]

handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"
