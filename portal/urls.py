"""The site's URLs: the pages of every app, the JSON API under /api/ and the admin."""

from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from consent import api as consent_api
from consent import record_api
from customers import access_reviews_api
from customers import api as customers_api
from incidents import api as incidents_api
from portal import audit_api, audit_views, notification_api, views
from portal.operations import views as operations_views
from portal.sso import views as sso_views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
# JSON only: no ``.json`` suffix routes (the viewsets' actions do not take a ``format``
# argument, so those addresses answered 500; the URL sweep found them).
router.include_format_suffixes = False
router.register("assets", customers_api.AssetViewSet, basename="asset")
router.register("incidents", incidents_api.IncidentViewSet, basename="incident")
router.register("alerts", incidents_api.AlertViewSet, basename="alert")
router.register("access-requests", customers_api.AccessRequestViewSet, basename="access-request")
router.register("grants", customers_api.GrantViewSet, basename="grant")
# Access reviews
router.register("reviews", access_reviews_api.ReviewViewSet, basename="review")
router.register("review-items", access_reviews_api.ReviewItemViewSet, basename="review-item")
# Consent
# The customer viewset extends consent's (search, footprint; consents unchanged).
router.register("customers", customers_api.CustomerViewSet, basename="customer")
router.register("consents", consent_api.ConsentViewSet, basename="consent")
router.register("notifications", notification_api.NotificationViewSet, basename="notification")
# External sharing
router.register("sharing-requests", consent_api.SharingRequestViewSet, basename="sharing-request")
# Data subject requests
router.register("subject-requests", customers_api.SubjectRequestViewSet, basename="subject-request")
router.register("erasure-tasks", customers_api.ErasureTaskViewSet, basename="erasure-task")

# The API docs (Swagger UI) under the site's Content-Security-Policy: the split view loads its
# start-up script from a second request instead of inlining it, so scripts stay 'self' only;
# Swagger UI sets inline styles, the one relaxation this page gets.
api_docs_view = csp_update({"style-src": ["'unsafe-inline'"]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", sso_views.LoginView.as_view(), name="login"),
    # Single sign-on (OpenID Connect): 404 while OIDC_ISSUER is unset.
    path("accounts/sso/start/", sso_views.SignInStart.as_view(), name="sso_start"),
    path("accounts/sso/callback/", sso_views.SignInReturn.as_view(), name="sso_callback"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("customers.urls")),
    path("incidents/", include("incidents.urls")),
    path("", include("consent.urls")),  # /customers/<id>/, /consents/import/, /sharing/
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/read-all/", views.notification_read_all, name="notification_read_all"),
    # Compliance only (404 for everyone else): e-mails that failed or are being retried.
    path(
        "notifications/undelivered/",
        views.notification_undelivered,
        name="notification_undelivered",
    ),
    path("notifications/<int:pk>/retry/", views.notification_retry_view, name="notification_retry"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs_view, name="api-docs"),
    path(
        "api/records-of-processing/",
        record_api.RecordOfProcessingView.as_view(),
        name="api-records-of-processing",
    ),
    path("api/", include(router.urls)),
    # Audit log: compliance only, 404 for everyone else.
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("audit/export.csv", audit_views.audit_log_csv, name="audit_log_csv"),
    # Compliance's button on the dashboard: verify and anchor now (POST; 404 for others).
    path("audit/anchor/", audit_views.audit_anchor, name="audit_anchor"),
    path("api/audit/", audit_api.AuditEventListView.as_view(), name="api-audit"),
    path("api/audit/verify/", audit_api.AuditVerifyView.as_view(), name="api-audit-verify"),
    path("admin/", admin.site.urls),
    # SCIM 2.0 provisioning by the identity provider (bearer token; portal/identity/).
    path("scim/v2/", include("portal.identity.scim_urls")),
]

# Security: the second step of a login, and changing one's password.
urlpatterns += [
    path("accounts/two-factor/", views.two_factor_verify, name="two_factor_verify"),
    path("accounts/two-factor/enrol/", views.two_factor_enrol, name="two_factor_enrol"),
    path("accounts/password/", views.password_change, name="password_change"),
    # The person's own settings (the time zone times are shown in), from the account menu.
    path("accounts/", views.account, name="account"),
    # The language chooser (menu, account page, sign-in page): portal/languages.py.
    path("accounts/language/", views.language_choose, name="language_choose"),
]

# Operations (portal/operations/views.py): probes for the orchestrator and monitoring, no
# login; only staff see the checks' details. /metrics answers METRICS_ALLOWED_IPS only.
urlpatterns += [
    path("health/live", operations_views.live, name="health-live"),
    path("health/ready", operations_views.ReadyView.as_view(), name="health-ready"),
    path("health/compliance", operations_views.ComplianceView.as_view(), name="health-compliance"),
    path("metrics", operations_views.metrics, name="metrics"),
]

handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"
