"""The admin is an operator's tool: the superuser walks every admin page and form.

Seeded with the demo (``seed_demo``) once for this module, two-factor on and the
administrator verified, as the URL sweep does. Every page the admin's URL resolver serves is
fetched for an object of its model; none may show a demo customer's e-mail, phone or name,
and no admin form may offer a field a business rule depends on.
"""

import re
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import RequestFactory
from django.urls import URLPattern
from django.utils import timezone
from rest_framework.authtoken.models import Token

from consent.models import Purpose
from customers.models.catalogue import Customer, DataAsset
from incidents.models import Incident
from incidents.services.reports import incident_acknowledge, incident_report
from portal.identity.scim_tokens import scim_token_create
from tests.portal import url_sweep
from tests.portal.test_url_sweep import client_for

# Fields a business rule depends on: they change only through the services, by the roles
# that may, with a reason (design.md, "administrator: holds no business permission").
BUSINESS_FIELDS = {
    "lawful_basis",
    "collected_for",
    "owner",
    "classification",
    "classification_confirmed",
    "classification_reason",
    "customers",
    "memberships",
    "data_categories",
    "retention_date",
    "retired_at",
}


@pytest.fixture(scope="module")
def demo_data(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=StringIO())
        users = {user.username: user for user in get_user_model().objects.all()}
        # One object of every kind the operator's admin lists.
        Token.objects.get_or_create(user=users["alice"])
        scim_token_create(actor=users["admin"], name="The directory (walk test)")
        AccessAttempt.objects.create(
            username="carl",
            ip_address="10.0.0.7",
            user_agent="test",
            path_info="/accounts/login/",
            attempt_time=timezone.now(),
            failures_since_start=2,
        )
        confidential = incident_report(
            actor=users["alice"],
            title="Walk test: a list left on the open share",
            description="The spring campaign list was on the open share for a day.",
            confidential_reporter=True,
        )
        # Acknowledging tells the reporter: a notification to alice about this incident.
        incident_acknowledge(actor=users["olivia"], incident=confidential)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def admin_client(demo_data, db, settings):
    settings.OTP_REQUIRED = True
    return client_for("admin")


def _admin_for(url_name: str):
    """The registered model whose admin serves ``url_name`` (``app_model_view``), or None."""
    for model, model_admin in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if url_name.startswith(prefix):
            return model, model_admin
    return None, None


def admin_pages(superuser) -> list[str]:
    """Every admin page reachable by GET, its ids filled with an object of its model."""
    request = RequestFactory().get("/admin/")
    request.user = superuser
    paths = []
    for endpoint in url_sweep.endpoints():
        if endpoint.namespace != "admin":
            continue
        name = endpoint.key.split(":", 1)[1]
        if name in {"logout", "autocomplete", "view_on_site"} or not name.isidentifier():
            continue  # POST only, needs a query, a redirect; the unnamed catch-all
        values = dict(url_sweep.ADMIN_VALUES)
        if "app_label" in endpoint.params:
            for app_label in {m._meta.app_label for m in admin.site._registry}:
                values["app_label"] = app_label
                paths.append(url_sweep.build_path(endpoint.route, values))
            continue
        model, model_admin = _admin_for(name)
        if endpoint.params:
            if model is None:
                continue
            obj = model_admin.get_queryset(request).order_by("pk").first()
            if obj is None:
                continue  # the last test says every registered model has one
            values.update(dict.fromkeys(endpoint.params, str(obj.pk)))
        paths.append(url_sweep.build_path(endpoint.route, values))
    return paths


def _customer_traces() -> tuple[set[str], set[str], set[str]]:
    staff_names = {str(user) for user in get_user_model().objects.all()}
    emails, phones, names = set(), set(), set()
    for name, email, phone in Customer.objects.values_list("name", "email", "phone"):
        emails.add(email.lower())
        if phone:
            phones.add(phone)
        if name not in staff_names:
            names.add(name)
    return emails, phones, names


EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def test_no_admin_page_shows_a_customers_personal_data(admin_client):
    superuser = get_user_model().objects.get(username="admin")
    emails, phones, names = _customer_traces()
    assert len(emails) > 2000  # the demo's customers are there to be leaked
    pages = admin_pages(superuser)
    # Searching every list for a customer's e-mail finds nothing of theirs either.
    some_email = sorted(emails)[0]
    pages += [
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/?q={some_email}"
        for model in admin.site._registry
    ]
    assert len(pages) > 20
    leaks, shown = [], 0
    for path in pages:
        response = admin_client.get(path)
        assert response.status_code in (200, 302, 403, 404), (path, response.status_code)
        shown += response.status_code == 200
        text = response.content.decode(errors="replace")
        # The search box shows the term searched for: that is not the admin's data.
        text = text.replace(f'value="{some_email}"', "").replace(f"q={some_email}", "")
        found = {e.lower() for e in EMAIL.findall(text)} & emails
        found |= {phone for phone in phones if phone in text}
        found |= {name for name in names if f">{name}<" in text or f"“{name}”" in text}
        if found:
            leaks.append(f"{path}: {sorted(found)[:3]}")
    assert leaks == []
    # The walk read real pages: a list and a search of every registered model at least.
    assert shown >= 2 * len(admin.site._registry)


def test_no_admin_shows_customers_the_audit_log_assets_or_incidents(admin_client):
    registered = {model._meta.label for model in admin.site._registry}
    gone = {
        "customers.Customer",
        "customers.DataAsset",
        "portal.AuditEvent",
        "incidents.Incident",
        "axes.AccessLog",
        "axes.AccessFailureLog",
    }
    assert registered & gone == set()
    for path in (
        "/admin/customers/customer/",
        "/admin/customers/dataasset/",
        "/admin/portal/auditevent/",
        "/admin/incidents/incident/",
    ):
        assert admin_client.get(path).status_code == 404


def test_no_admin_page_links_a_confidential_reporter_to_their_report(admin_client):
    """Incidents are not in the admin, and nothing else there (a notification to the
    reporter about their report, say) names the report."""
    superuser = get_user_model().objects.get(username="admin")
    confidential = Incident.objects.get(title="Walk test: a list left on the open share")
    shown = 0
    for path in admin_pages(superuser):
        response = admin_client.get(path)
        shown += response.status_code == 200
        text = response.content.decode(errors="replace")
        assert confidential.reference not in text, path
        assert confidential.title not in text, path
    assert shown >= len(admin.site._registry)


def _offered_fields(model_admin, request, obj) -> set[str]:
    """The fields an admin form would accept for ``obj`` (None: the add form)."""
    form = model_admin.get_form(request, obj)
    offered = set(form.base_fields)
    for formset, _inline in model_admin.get_formsets_with_inlines(request, obj):
        offered |= set(formset.form.base_fields)
    return offered - set(model_admin.get_readonly_fields(request, obj))


def test_no_admin_form_offers_a_field_a_business_rule_depends_on(admin_client):
    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.get(username="admin")
    offered = {}
    for model, model_admin in admin.site._registry.items():
        obj = model_admin.get_queryset(request).order_by("pk").first()
        fields = set()
        if model_admin.has_add_permission(request):
            fields |= _offered_fields(model_admin, request, None)
        if obj is not None and model_admin.has_change_permission(request, obj):
            fields |= _offered_fields(model_admin, request, obj)
        fields |= set(model_admin.list_editable)
        if fields & BUSINESS_FIELDS:
            offered[model._meta.label] = sorted(fields & BUSINESS_FIELDS)
    assert offered == {}


def test_the_issues_example_an_admin_post_changes_no_lawful_basis_or_purposes(admin_client):
    """A purpose's lawful basis set to legitimate interest, and an asset given that purpose,
    both by POSTs to the admin: neither changes anything."""
    purpose = Purpose.objects.get(key="marketing.communications.email")
    legacy = DataAsset.objects.order_by("pk").first()
    purposes_before = set(legacy.collected_for.values_list("key", flat=True))
    response = admin_client.post(
        f"/admin/consent/purpose/{purpose.pk}/change/",
        {
            "key": purpose.key,
            "name": purpose.name,
            "description": purpose.description,
            "lawful_basis": "legitimate_interest",
            "active": "on",
        },
    )
    assert response.status_code == 302  # the name and description were saved
    purpose.refresh_from_db()
    assert purpose.lawful_basis == "consent"
    response = admin_client.post(
        f"/admin/customers/dataasset/{legacy.pk}/change/",
        {"name": legacy.name, "collected_for": [purpose.pk], "owner": legacy.owner_id},
    )
    assert response.status_code == 404
    assert set(legacy.collected_for.values_list("key", flat=True)) == purposes_before


def test_the_admin_pages_are_walked_through_the_resolver(admin_client):
    """The walk reads the admin's own URL patterns: a model registered later is walked
    without editing this file."""
    superuser = get_user_model().objects.get(username="admin")
    pages = admin_pages(superuser)
    request = RequestFactory().get("/admin/")
    request.user = superuser
    for model, model_admin in admin.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        obj = model_admin.get_queryset(request).order_by("pk").first()
        assert obj is not None, f"the walk has no {model._meta.label} to open"
        assert base in pages and f"{base}{obj.pk}/change/" in pages
    assert any(isinstance(p, URLPattern) for p in admin.site.get_urls())
