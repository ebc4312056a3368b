"""The access-control sweep: every URL pattern of the site and the API, for every role and
every demo object, against the expected matrix below.

The patterns come from the URL resolver, so a new URL is swept without editing this file,
and a URL the matrix does not know fails the sweep (``unknown_patterns``).

To add a URL: one entry in ``EXPECTED``, keyed by its name (``namespace:name``), saying
which demo objects fill its id (``objects=``, a key of ``DEMO_OBJECTS``) and, per HTTP
method, what each role gets: a dict role -> outcome, or a function (role, object) ->
outcome. The helpers ``signed_in``, ``visible``, ``only`` cover the usual shapes, e.g.::

    "incidents:incident_detail": Url(objects="incidents", get=visible(incident_seen)),
    "sharing-request-list": Url(get=signed_in(PAGE), post=signed_in(PASSED)),

and, for a new kind of object, a line in ``DEMO_OBJECTS`` and a ``*_seen`` rule written
from the design (who may see it), never from the selector under test.

Roles are the demo users (``alice`` employee, ``carl`` other employee, ``bob`` owner of
the demo assets, ``olivia`` compliance, ``lena`` legal, ``admin`` superuser) and
``anonymous``. Each request runs in a savepoint that is rolled back, so a POST by one role
never changes what the next one sees. POSTs carry an empty body: a role that may act gets
past the visibility and permission checks and is stopped by validation (``PASSED``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, resolve

# --- Outcomes -----------------------------------------------------------------------------

PAGE = "200"  # the page or JSON answer, for this role
REDIRECT = "302"  # a redirect that is not to a login page
DENIED = "403"  # visible object, action not allowed
HIDDEN = "404"  # an object (or page) this role may not see
NOT_ALLOWED = "405"  # wrong method, for a signed-in role
LOGIN = "login"  # anonymous: to the login page (pages) or 401/403 (API)
ADMIN_LOGIN = "admin-login"  # to the admin's login page (Django admin)
# A POST with an empty body got past visibility and permission checks: 2xx, 400 (the
# input was refused, nothing changed) or a redirect that is not to a login page.
PASSED = "passed"
# The Django admin, for a superuser: a page, a redirect, 404 for a missing object, or 403
# where the admin itself refuses (adding or deleting audit events, axes records).
ADMIN_OK = "admin-ok"
# A health probe: 200 or 503 (what the probed services say), never a login page.
PROBE = "probe"

ROLES = ["anonymous", "alice", "carl", "bob", "olivia", "lena", "admin"]
SIGNED_IN = [role for role in ROLES if role != "anonymous"]
PRIVILEGED = {"olivia", "lena", "admin"}  # must verify a second factor (logged in verified)

Rule = dict | Callable


@dataclass(frozen=True)
class Url:
    """What a URL answers: per method, per role (and object, when ``objects`` is set)."""

    get: Rule | None = None
    post: Rule | None = None
    objects: str | None = None  # DEMO_OBJECTS key filling the URL's id
    id_kwarg: str = "pk"
    # For a URL with two ids (an incident's duty, a request's task): object -> its values.
    kwargs: Callable | None = None


def signed_in(outcome: str, **per_role: str) -> dict:
    """Anonymous to the login page; every signed-in role ``outcome`` unless named."""
    return {"anonymous": LOGIN, **{role: per_role.get(role, outcome) for role in SIGNED_IN}}


# A POST-only page whose method check runs before the login check (the incident actions):
# a GET is refused with 405 for everyone, anonymous included; it reads nothing.
POST_ONLY = dict.fromkeys(ROLES, NOT_ALLOWED)


def only(allowed: dict[str, str], otherwise: str = HIDDEN) -> dict:
    """The roles in ``allowed`` get their outcome, other signed-in roles ``otherwise``."""
    return signed_in(otherwise, **allowed)


def visible(seen: Callable, outcome: str = PAGE, *, refused: dict | None = None) -> Callable:
    """Per object: ``outcome`` for a role that may see it (``refused`` overrides for the
    roles that see it but may not act: ``{"bob": DENIED}`` or a function), 404 otherwise."""

    def rule(role, obj):
        if role == "anonymous":
            return LOGIN
        if not seen(role, obj):
            return HIDDEN
        if callable(refused):
            return refused(role, obj) or outcome
        return (refused or {}).get(role, outcome)

    return rule


# --- Who may see what, from design.md and the demo data (not from the selectors) -----------


def asset_seen(role, asset) -> bool:
    """Catalogue: every employee, except restricted assets (owner, compliance, legal and
    grantees only; the demo has no grant on a restricted asset)."""
    return asset.classification != "restricted" or role in {asset.owner.username, "olivia", "lena"}


def request_seen(role, access_request) -> bool:
    """The requester, the asset's owner, compliance and legal (the deciders of its steps)."""
    return role in {
        access_request.requester.username,
        access_request.asset.owner.username,
        "olivia",
        "lena",
    }


def grant_seen(role, grant) -> bool:
    """The holder, the asset's owner and compliance (legal is not in the grants rule)."""
    return role in {grant.user.username, grant.asset.owner.username, "olivia"}


def grant_holder(role, grant) -> bool:
    """Records and exports are read through one's own grant only, even by compliance."""
    return role == grant.user.username


def review_seen(role, review) -> bool:
    """An access review: compliance, and the reviewers of its items."""
    return role == "olivia" or review.items.filter(reviewer__username=role).exists()


def review_item_seen(role, item) -> bool:
    """A review item: its reviewer and compliance."""
    return role == "olivia" or (item.reviewer is not None and item.reviewer.username == role)


def _review_decide(role, item):
    """Only the item's reviewer decides it (compliance only the fallback items)."""
    if item.reviewer is None:
        return None if role == "olivia" else DENIED
    return None if role == item.reviewer.username else DENIED


def customer_seen(role, customer) -> bool:
    """Customer records one by one: compliance and legal only."""
    return role in {"olivia", "lena"}


def recipient(role, notification) -> bool:
    return role == notification.recipient.username


TRIAGERS = {"olivia", "lena"}  # Compliance and Legal work every incident


def incident_seen(role, incident) -> bool:
    """Incidents: the reporter sees their own reports; compliance and legal see every incident;
    anyone else 404 (a confidential report included: the reporter still sees it)."""
    return role == incident.reporter.username or role in TRIAGERS


def duty_seen(role, duty) -> bool:
    """A notification duty is part of its incident: the incident's rule."""
    return incident_seen(role, duty.incident)


def _triage(role, obj):
    # Triage actions: compliance and legal only; the reporter sees the report and is refused.
    return None if role in TRIAGERS else DENIED


def sharing_seen(role, sharing_request) -> bool:
    """Sharing requests: the requester, the asset's owner, compliance and legal (the deciders)."""
    return role in {
        sharing_request.requester.username,
        sharing_request.asset.owner.username,
        "olivia",
        "lena",
    }


def sharing_requester(role, sharing_request) -> bool:
    """The package is downloaded by the requester only (compliance included: 404), once
    the final approval made it (before that there is nothing to download: 404)."""
    return role == sharing_request.requester.username and hasattr(sharing_request, "package")


def withdrawal_seen(role, withdrawal) -> bool:
    """A withdrawal to forward is part of its sharing request: that request's rule."""
    return sharing_seen(role, withdrawal.package.request)


# Marking a withdrawal forwarded (requester or compliance) and recording the recipient's
# deletion (compliance) validate the form before the service checks the role: an empty body
# is refused with a message (redirect to the request, nothing changed) for anyone who sees
# the request; a valid post by anyone else is 403 (tests/consent/test_sharing.py,
# ``test_only_the_requester_or_compliance_marks_a_withdrawal_forwarded``,
# ``test_only_compliance_records_the_recipients_deletion``).


def compliance_only(role, obj) -> bool:
    """Subject requests and customer footprints are compliance's only (legal
    included: 404)."""
    return role == "olivia"


def alert_seen(role, alert) -> bool:
    """Misuse alerts: compliance only (legal and the administrator included: 404), and never
    the person an alert is about, even a compliance officer (issue text, design.md API)."""
    return role == "olivia" and role not in {user.username for user in alert.subjects.all()}


def task_owner(role, task) -> bool:
    """An erasure task is confirmed by its owner only (compliance included: 404)."""
    return role == task.owner.username


def _retention(role, asset):
    """Retention (docs/subject-requests.md "Retention"; ``customers.views.retention_*``): the list
    page answers every employee with what they may act on (compliance: every asset past its
    retention date; an owner: their own). Recording a deletion or a new date on an asset is
    for its owner or compliance: the asset is loaded under the catalogue rule (404 for one
    the role may not see) and the form is validated before the role is checked, so an empty
    body is refused (redirect with the message, nothing changed) for anyone who sees the
    asset, and the service's role check answers 403 to a valid post by anyone else (covered
    by ``tests/customers``)."""
    return None


def _withdraw(role, access_request):
    # Only the requester withdraws; others who see the request are refused.
    return None if role == access_request.requester.username else DENIED


def _classify(role, asset):
    # Only compliance classifies (the page checks the role before the form).
    return None if role == "olivia" else DENIED


def _export(role, grant):
    return None if grant.level == "export" else DENIED


# --- Demo objects that fill an id ------------------------------------------------------------


def _customers_sample():
    """Customers are many (2,450) and one rule covers them all (compliance and legal): the
    first and last customer of each demo asset, restricted one included."""
    from customers.models.catalogue import Customer, DataAsset

    picked = []
    for asset in DataAsset.objects.order_by("pk"):
        members = Customer.objects.filter(assets=asset).order_by("pk")
        picked += [members.first(), members.last()]
    return [customer for customer in picked if customer is not None]


def _all(model_path: str, *related: str):
    def load():
        from django.apps import apps

        model = apps.get_model(model_path)
        return list(model.objects.select_related(*related).order_by("pk"))

    return load


DEMO_OBJECTS: dict[str, Callable[[], list]] = {
    "assets": _all("customers.DataAsset", "owner"),
    "requests": _all("customers.AccessRequest", "requester", "asset__owner"),
    "grants": _all("customers.AccessGrant", "user", "asset__owner"),
    "customers": _customers_sample,
    # seed_demo starts no access review: the sweep's fixture starts one over the demo's
    # grants (``test_url_sweep.add_access_review``).
    "reviews": _all("customers.AccessReview"),
    "review_items": _all("customers.AccessReviewItem", "reviewer"),
    "notifications": _all("portal.Notification", "recipient"),
    "incidents": _all("incidents.Incident", "reporter"),
    "duties": _all("incidents.IncidentDuty", "incident__reporter"),
    # seed_demo makes no sharing request: the sweep's fixture adds two (one packaged, with a
    # withdrawal to forward; one pending), ``test_url_sweep.add_sharing_requests``.
    "sharing_requests": _all("consent.SharingRequest", "requester", "asset__owner"),
    "withdrawals": _all(
        "consent.SharingWithdrawal",
        "package__request__requester",
        "package__request__asset__owner",
    ),
    "subject_requests": _all("customers.DataSubjectRequest"),
    "erasure_tasks": _all("customers.ErasureTask", "owner"),
    # seed_demo makes no import job: the sweep's fixture adds a rejected one
    # (``test_url_sweep.add_import_job``).
    "import_jobs": _all("consent.ConsentImportJob", "created_by"),
    # seed_demo raises no misuse alert: the sweep's fixture adds one about alice and one
    # about olivia herself (``test_url_sweep.add_alerts``).
    "alerts": _all("incidents.Alert"),
    "processing_activities": _all("consent.ProcessingActivity"),
}

# --- The expected matrix ----------------------------------------------------------------------

EXPECTED: dict[str, Url] = {
    # Accounts
    "home": Url(get=signed_in(PAGE)),  # the dashboard
    "login": Url(get={role: PAGE for role in ROLES}),
    "logout": Url(get={role: NOT_ALLOWED for role in ROLES}),  # POST only; not swept
    # Single sign-on: not configured in the sweep (the demo), so not found for everyone;
    # with a provider, tests/portal/test_local_login_modes.py and test_single_sign_on.py.
    "sso_start": Url(get=dict.fromkeys(ROLES, HIDDEN)),
    "sso_callback": Url(get=dict.fromkeys(ROLES, HIDDEN)),
    "two_factor_verify": Url(get=signed_in(REDIRECT)),
    # Employees are sent on to enrolment; the privileged roles are enrolled and verified.
    "two_factor_enrol": Url(get=signed_in(PAGE, **dict.fromkeys(PRIVILEGED, REDIRECT))),
    "password_change": Url(get=signed_in(PAGE), post=signed_in(PASSED)),
    "account": Url(get=signed_in(PAGE), post=signed_in(PASSED)),
    # The language chooser: POST only, for everyone (the sign-in page has it too); an empty
    # POST is refused with a message and a redirect back.
    "language_choose": Url(get=POST_ONLY, post=dict.fromkeys(ROLES, PASSED)),
    # Catalogue and classification
    "customers:asset_list": Url(get=signed_in(PAGE)),
    "customers:asset_detail": Url(objects="assets", get=visible(asset_seen)),
    "customers:asset_classify": Url(
        objects="assets",
        get=signed_in(NOT_ALLOWED),
        post=visible(asset_seen, PASSED, refused=_classify),
    ),
    # Compliance's changes of an asset's owner and collection purposes, and of lawful bases
    **{
        f"customers:asset_{name}": Url(
            objects="assets",
            get=signed_in(NOT_ALLOWED),
            post=visible(asset_seen, PASSED, refused=_classify),
        )
        for name in ("owner", "collected_for")
    },
    "consent:purposes": Url(get=only({"olivia": PAGE}), post=only({"olivia": PASSED})),
    # Access requests and approvals
    "customers:request_list": Url(get=signed_in(PAGE)),
    "customers:request_create": Url(get=signed_in(PAGE), post=signed_in(PASSED)),
    "customers:request_detail": Url(objects="requests", get=visible(request_seen)),
    "customers:request_decide": Url(
        objects="requests", get=signed_in(NOT_ALLOWED), post=visible(request_seen, PASSED)
    ),
    "customers:request_withdraw": Url(
        objects="requests",
        get=signed_in(NOT_ALLOWED),
        post=visible(request_seen, PASSED, refused=_withdraw),
    ),
    "customers:approvals": Url(get=signed_in(PAGE)),
    # Grants
    "customers:grant_list": Url(get=signed_in(PAGE)),
    "customers:grant_list_owned": Url(get=signed_in(PAGE)),
    "customers:grant_list_all": Url(get=only({"olivia": PAGE})),
    "customers:grant_revoke": Url(
        objects="grants", get=signed_in(NOT_ALLOWED), post=visible(grant_seen, PASSED)
    ),
    "customers:grant_records": Url(objects="grants", get=visible(grant_holder)),
    # Access reviews
    "customers:review_list": Url(get=signed_in(PAGE), post=signed_in(DENIED, olivia=PASSED)),
    "customers:review_detail": Url(objects="reviews", get=visible(review_seen)),
    "customers:review_accept": Url(
        objects="reviews", get=signed_in(NOT_ALLOWED), post=visible(review_seen, PASSED)
    ),
    # The auditors' report: compliance; a reviewer sees the campaign but not the report.
    "customers:review_report": Url(
        objects="reviews", get=visible(review_seen, refused={"bob": DENIED})
    ),
    "customers:review_item_decide": Url(
        objects="review_items",
        get=signed_in(NOT_ALLOWED),
        post=visible(review_item_seen, PASSED, refused=_review_decide),
    ),
    "customers:grant_export": Url(objects="grants", get=visible(grant_holder, refused=_export)),
    # Consent
    "consent:customer_detail": Url(objects="customers", get=visible(customer_seen)),
    "consent:consent_record": Url(
        objects="customers",
        get=signed_in(NOT_ALLOWED),
        post=visible(customer_seen, PASSED, refused={"lena": DENIED}),
    ),
    "consent:consent_import": Url(
        get=only({"olivia": PAGE}, otherwise=DENIED),
        post=only({"olivia": PASSED}, otherwise=DENIED),
    ),
    "consent:import_job": Url(objects="import_jobs", get=visible(compliance_only)),
    "consent:import_job_errors": Url(objects="import_jobs", get=visible(compliance_only)),
    # Incidents: anyone reports; the reporter sees their own; compliance and
    # legal see and work every incident; triage actions refuse the reporter (403).
    # The triage list; anyone else is sent on to their own reports (nothing of others shown).
    "incidents:list": Url(get=signed_in(REDIRECT, olivia=PAGE, lena=PAGE)),
    "incidents:report": Url(get=signed_in(PAGE), post=signed_in(PASSED)),
    "incidents:mine": Url(get=signed_in(PAGE)),
    "incidents:detail": Url(objects="incidents", get=visible(incident_seen)),
    **{
        f"incidents:{name}": Url(
            objects="incidents",
            get=POST_ONLY,
            post=visible(incident_seen, PASSED, refused=_triage),
        )
        for name in (
            "acknowledge",
            "triage",
            "note",
            "regime_apply",
            "awareness",
            "no_risk_propose",
            "no_risk_confirm",
            "customer_notice",
        )
    },
    "incidents:duty_record": Url(
        objects="duties",
        kwargs=lambda duty: {"pk": duty.incident_id, "duty_pk": duty.pk},
        get=POST_ONLY,
        post=visible(duty_seen, PASSED, refused=_triage),
    ),
    # Misuse alerts: compliance only, never the person concerned (404 for everyone else).
    "incidents:alert_list": Url(get=only({"olivia": PAGE})),
    "incidents:alert_detail": Url(objects="alerts", get=visible(alert_seen)),
    "incidents:alert_dismiss": Url(
        objects="alerts", get=POST_ONLY, post=visible(alert_seen, PASSED)
    ),
    "incidents:alert_incident": Url(
        objects="alerts", get=POST_ONLY, post=visible(alert_seen, PASSED)
    ),
    # External sharing
    "consent:sharing_list": Url(get=signed_in(PAGE)),
    "consent:sharing_create": Url(get=signed_in(PAGE), post=signed_in(PASSED)),
    "consent:sharing_withdrawals": Url(get=signed_in(PAGE)),
    "consent:sharing_deletions": Url(get=signed_in(PAGE)),
    # The record of processing activities (GDPR Art. 30): compliance and legal only
    "consent:record": Url(get=only({"olivia": PAGE, "lena": PAGE})),
    "consent:record_print": Url(get=only({"olivia": PAGE, "lena": PAGE})),
    "consent:record_csv": Url(get=only({"olivia": PAGE, "lena": PAGE})),
    "consent:record_xlsx": Url(get=only({"olivia": PAGE, "lena": PAGE})),
    "api-records-of-processing": Url(get=only({"olivia": PAGE, "lena": PAGE})),
    # Compliance keeps the activities; legal reads the record only.
    "consent:activity_new": Url(get=only({"olivia": PAGE}), post=only({"olivia": PASSED})),
    "consent:activity_edit": Url(
        objects="processing_activities",
        get=only({"olivia": PAGE}),
        post=only({"olivia": PASSED}),
    ),
    "consent:sharing_detail": Url(objects="sharing_requests", get=visible(sharing_seen)),
    "consent:sharing_decide": Url(
        objects="sharing_requests", get=signed_in(NOT_ALLOWED), post=visible(sharing_seen, PASSED)
    ),
    "consent:sharing_withdraw": Url(
        objects="sharing_requests",
        get=signed_in(NOT_ALLOWED),
        post=visible(sharing_seen, PASSED, refused=_withdraw),
    ),
    "consent:sharing_package": Url(objects="sharing_requests", get=visible(sharing_requester)),
    "consent:sharing_withdrawal_forwarded": Url(
        objects="withdrawals",
        kwargs=lambda withdrawal: {
            "pk": withdrawal.package.request_id,
            "withdrawal_pk": withdrawal.pk,
        },
        get=signed_in(NOT_ALLOWED),
        post=visible(withdrawal_seen, PASSED),
    ),
    "consent:sharing_deletion": Url(
        objects="sharing_requests",
        get=signed_in(NOT_ALLOWED),
        post=visible(sharing_seen, PASSED),
    ),
    # Data subject requests and retention: compliance only (404 for anyone else,
    # legal included), except an owner's own erasure tasks and retention (``_retention``).
    # The search page is compliance's (subject requests are their work); the API search also
    # answers legal (docs/subject-requests.md "legal may search too"; legal reads customer
    # records one by one already, ``customer_seen``). Reported to the lead: the two doors disagree.
    "customers:customer_search": Url(get=only({"olivia": PAGE})),
    "customers:customer_footprint": Url(objects="customers", get=visible(compliance_only)),
    "customers:subject_request_list": Url(get=only({"olivia": PAGE})),
    "customers:subject_request_create": Url(
        get=only({"olivia": PAGE}), post=only({"olivia": PASSED})
    ),
    "customers:subject_request_detail": Url(
        objects="subject_requests", get=visible(compliance_only)
    ),
    **{
        f"customers:subject_request_{name}": Url(
            objects="subject_requests",
            get=signed_in(NOT_ALLOWED),
            post=visible(compliance_only, PASSED),
        )
        for name in ("extend", "close")
    },
    "customers:subject_request_report": Url(
        objects="subject_requests", get=visible(compliance_only)
    ),
    "customers:erasure_task_list": Url(get=signed_in(PAGE)),
    "customers:erasure_task_confirm": Url(
        objects="erasure_tasks", get=signed_in(NOT_ALLOWED), post=visible(task_owner, PASSED)
    ),
    "customers:retention_list": Url(get=signed_in(PAGE)),
    **{
        f"customers:retention_{name}": Url(
            objects="assets",
            get=signed_in(NOT_ALLOWED),
            post=visible(asset_seen, PASSED, refused=_retention),
        )
        for name in ("extend", "delete")
    },
    # Notifications
    "notification_list": Url(get=signed_in(PAGE)),
    "notification_read": Url(
        objects="notifications", get=signed_in(NOT_ALLOWED), post=visible(recipient, PASSED)
    ),
    "notification_read_all": Url(get=signed_in(NOT_ALLOWED), post=signed_in(PASSED)),
    "notification_undelivered": Url(get=only({"olivia": PAGE})),
    "notification_retry": Url(
        objects="notifications", get=signed_in(NOT_ALLOWED), post=signed_in(HIDDEN)
    ),
    # Audit log: compliance only, 404 for everyone else
    "audit_log": Url(get=only({"olivia": PAGE})),
    "audit_log_csv": Url(get=only({"olivia": PAGE})),
    "audit_anchor": Url(get=signed_in(NOT_ALLOWED), post=only({"olivia": PASSED})),
    "api-audit": Url(get=only({"olivia": PAGE})),
    "api-audit-verify": Url(get=only({"olivia": PAGE})),
    # API: schema and docs
    "api-schema": Url(get=signed_in(PAGE)),
    "api-docs": Url(get=signed_in(PAGE)),
    # API: catalogue, access requests, grants
    "asset-list": Url(get=signed_in(PAGE)),
    "asset-detail": Url(objects="assets", get=visible(asset_seen)),
    # The body is checked before the role: an empty body is a 400 for whoever sees it.
    "asset-classify": Url(
        objects="assets", get=signed_in(NOT_ALLOWED), post=visible(asset_seen, PASSED)
    ),
    "access-request-list": Url(get=signed_in(PAGE), post=signed_in(PASSED)),
    "access-request-detail": Url(objects="requests", get=visible(request_seen)),
    "access-request-approve": Url(
        objects="requests", get=signed_in(NOT_ALLOWED), post=visible(request_seen, PASSED)
    ),
    "access-request-deny": Url(
        objects="requests", get=signed_in(NOT_ALLOWED), post=visible(request_seen, PASSED)
    ),
    "access-request-withdraw": Url(
        objects="requests",
        get=signed_in(NOT_ALLOWED),
        post=visible(request_seen, PASSED, refused=_withdraw),
    ),
    "grant-list": Url(get=signed_in(PAGE)),
    "grant-detail": Url(objects="grants", get=visible(grant_seen)),
    "grant-revoke": Url(
        objects="grants", get=signed_in(NOT_ALLOWED), post=visible(grant_seen, PASSED)
    ),
    "grant-records": Url(objects="grants", get=visible(grant_holder)),
    "grant-export": Url(objects="grants", get=visible(grant_holder, refused=_export)),
    # API: access reviews
    "review-list": Url(get=signed_in(PAGE), post=signed_in(DENIED, olivia=PASSED)),
    "review-detail": Url(objects="reviews", get=visible(review_seen)),
    "review-items": Url(objects="reviews", get=visible(review_seen)),
    "review-item-decide": Url(
        objects="review_items",
        get=signed_in(NOT_ALLOWED),
        post=visible(review_item_seen, PASSED, refused=_review_decide),
    ),
    "review-item-accept-recommendations": Url(get=signed_in(NOT_ALLOWED), post=signed_in(PASSED)),
    # API: consent
    "customer-consents": Url(objects="customers", get=visible(customer_seen)),
    "consent-list": Url(
        get=signed_in(NOT_ALLOWED), post=only({"olivia": PASSED}, otherwise=DENIED)
    ),
    # API: incidents
    "incident-list": Url(get=signed_in(PAGE), post=signed_in(PASSED)),
    "incident-detail": Url(objects="incidents", get=visible(incident_seen)),
    "alert-list": Url(get=only({"olivia": PAGE})),
    "alert-detail": Url(objects="alerts", get=visible(alert_seen)),
    **{
        f"alert-{name}": Url(
            objects="alerts", get=signed_in(NOT_ALLOWED), post=visible(alert_seen, PASSED)
        )
        for name in ("dismiss", "incident")
    },
    **{
        f"incident-{name}": Url(
            objects="incidents",
            get=signed_in(NOT_ALLOWED),
            post=visible(incident_seen, PASSED, refused=_triage),
        )
        for name in (
            "acknowledge",
            "awareness",
            "customer-notice",
            "no-risk-confirm",
            "no-risk-propose",
            "notes",
            "regimes",
        )
    },
    "incident-duty-record": Url(
        objects="duties",
        kwargs=lambda duty: {"pk": duty.incident_id, "duty_pk": duty.pk},
        get=signed_in(NOT_ALLOWED),
        post=visible(duty_seen, PASSED, refused=_triage),
    ),
    # API: external sharing
    "sharing-request-list": Url(get=signed_in(PAGE), post=signed_in(PASSED)),
    "sharing-request-detail": Url(objects="sharing_requests", get=visible(sharing_seen)),
    **{
        f"sharing-request-{name}": Url(
            objects="sharing_requests",
            get=signed_in(NOT_ALLOWED),
            post=visible(sharing_seen, PASSED),
        )
        for name in ("approve", "deny")
    },
    "sharing-request-withdraw": Url(
        objects="sharing_requests",
        get=signed_in(NOT_ALLOWED),
        post=visible(sharing_seen, PASSED, refused=_withdraw),
    ),
    "sharing-request-package": Url(objects="sharing_requests", get=visible(sharing_requester)),
    # API: data subject requests
    "customer-list": Url(get=only({"olivia": PAGE, "lena": PAGE})),
    "customer-footprint": Url(objects="customers", get=visible(compliance_only)),
    "subject-request-list": Url(get=only({"olivia": PAGE}), post=only({"olivia": PASSED})),
    "subject-request-detail": Url(objects="subject_requests", get=visible(compliance_only)),
    **{
        f"subject-request-{name}": Url(
            objects="subject_requests",
            get=signed_in(NOT_ALLOWED),
            post=visible(compliance_only, PASSED),
        )
        for name in ("extend", "close")
    },
    "subject-request-report": Url(objects="subject_requests", get=visible(compliance_only)),
    "subject-request-confirm-task": Url(
        objects="erasure_tasks",
        kwargs=lambda task: {"pk": task.request_id, "task": task.pk},
        get=signed_in(NOT_ALLOWED),
        post=visible(task_owner, PASSED),
    ),
    "erasure-task-list": Url(get=signed_in(PAGE)),
    # API: notifications
    "notification-list": Url(get=signed_in(PAGE)),
    "notification-read": Url(
        objects="notifications", get=signed_in(NOT_ALLOWED), post=visible(recipient, PASSED)
    ),
    "notification-read-all": Url(get=signed_in(NOT_ALLOWED), post=signed_in(PASSED)),
    # Operations: probes and metrics answer without login (the sweep's client comes from
    # 127.0.0.1, an address METRICS_ALLOWED_IPS lets in); only staff see check details.
    "health-live": Url(get=dict.fromkeys(ROLES, PAGE)),
    "health-ready": Url(get=dict.fromkeys(ROLES, PROBE)),
    "health-compliance": Url(get=dict.fromkeys(ROLES, PROBE)),
    "metrics": Url(get=dict.fromkeys(ROLES, PAGE)),
    # The Django admin: every view is wrapped by AdminSite.admin_view, which sends anyone
    # but staff to its login page; one rule for the namespace, GET only (the sweep does
    # not post to the admin). Its login page answers everyone.
    "admin:*": Url(get={**dict.fromkeys(ROLES, ADMIN_LOGIN), "admin": ADMIN_OK}),
    "admin:login": Url(get={**dict.fromkeys(ROLES, PAGE), "admin": REDIRECT}),
    # Without its query (app_label, model_name, field_name) the admin refuses it.
    "admin:autocomplete": Url(get={**dict.fromkeys(ROLES, ADMIN_LOGIN), "admin": DENIED}),
    # Log out is POST only; others are sent to the admin's index (and from there to login).
    "admin:logout": Url(get={**dict.fromkeys(ROLES, REDIRECT), "admin": NOT_ALLOWED}),
    # SCIM provisioning: only the directory's bearer token opens it; a session, even an
    # administrator's, is refused with 401 (tests/portal/test_scim.py covers the token).
    "scim:*": Url(get=dict.fromkeys(ROLES, "401"), post=dict.fromkeys(ROLES, "401")),
}

# Values for the SCIM URLs' parameters (a user or group id, a schema, any other path).
SCIM_VALUES = {"resource_id": "1", "key": "User", "rest": "nowhere"}

# Values for the admin's URL parameters (its objects, apps and catch-all).
ADMIN_VALUES = {
    "object_id": "1",
    "object_pk": "1",
    "pk": "1",
    "id": "1",
    "user_id": "1",
    "group_id": "1",
    "content_type_id": "1",
    "app_label": "customers",
    "url": "no-such-page/",
}


# --- The sweep --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    key: str  # namespace:name, or namespace:route for an unnamed pattern
    route: str  # the full route, prefixes included
    namespace: str
    params: tuple[str, ...] = field(default=())


def endpoints(urlconf: str | None = None) -> list[Endpoint]:
    """Every URL pattern the resolver serves, with its key in the matrix."""
    found: list[Endpoint] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = ":".join(part for part in (namespace, pattern.namespace) if part)
                walk(pattern.url_patterns, route, inner)
                continue
            assert isinstance(pattern, URLPattern)
            name = pattern.name or route
            key = f"{namespace}:{name}" if namespace else name
            found.append(Endpoint(key, route, namespace, tuple(_parameters(route))))

    walk(get_resolver(urlconf).url_patterns, "", "")
    return found


def _parameters(route: str) -> Iterator[str]:
    yield from re.findall(r"\(\?P<(\w+)>", route)
    yield from re.findall(r"<(?:[^>:]+:)?([^>]+)>", re.sub(r"\(\?P<\w+>", "(", route))


def entry_for(endpoint: Endpoint, expected: dict[str, Url]) -> Url | None:
    if endpoint.key in expected:
        return expected[endpoint.key]
    return expected.get(f"{endpoint.namespace}:*") if endpoint.namespace else None


def unknown_patterns(expected: dict[str, Url] = EXPECTED, urlconf: str | None = None) -> list[str]:
    """URL patterns the matrix has no entry for: each is a failure of the sweep."""
    return sorted({e.key for e in endpoints(urlconf) if entry_for(e, expected) is None})


def build_path(route: str, values: dict[str, str]) -> str:
    """The path of ``route`` with its parameters filled in (path() and regex patterns)."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m[1]], route)
    path = re.sub(r"<(?:[^>:]+:)?([^>]+)>", lambda m: values[m[1]], path)
    path = re.sub(r"\((?!\?)[^)]*\)", "1", path)  # unnamed groups (admin history pages)
    for regex, text in (("^", ""), ("$", ""), ("\\.", "."), ("/?", "/")):
        path = path.replace(regex, text)
    return "/" + path


def _fillings(endpoint: Endpoint, entry: Url, objects: dict[str, list]):
    """(path, object) for each way the URL is swept: once, or once per demo object."""
    values = {"format": "json"}
    if endpoint.namespace == "admin":
        values.update(ADMIN_VALUES)
    if endpoint.namespace == "scim":
        values.update(SCIM_VALUES)
    if entry.objects is None:
        yield build_path(endpoint.route, values), None
        return
    for obj in objects[entry.objects]:
        ids = entry.kwargs(obj) if entry.kwargs else {entry.id_kwarg: obj.pk}
        yield build_path(endpoint.route, {**values, **{k: str(v) for k, v in ids.items()}}), obj


def _accepts(outcome: str, response, path: str) -> bool:
    status = response.status_code
    location = response.get("Location", "")
    to_login = location.startswith((settings.LOGIN_URL, "/admin/login/"))
    if outcome == LOGIN:
        if path.startswith("/api/"):
            return status in (401, 403)
        return status == 302 and location.startswith(settings.LOGIN_URL)
    if outcome == ADMIN_LOGIN:
        return status == 302 and location.startswith("/admin/login/")
    if outcome == REDIRECT:
        return status == 302 and not to_login
    if outcome == PASSED:
        return status in (200, 201, 204, 400) or (status == 302 and not to_login)
    if outcome == PROBE:
        return status in (200, 503)
    if outcome == ADMIN_OK:
        return status in (200, 302, 403, 404) and not to_login
    return str(status) == outcome


def _expected(rule: Rule, role: str, obj) -> str:
    return rule(role, obj) if callable(rule) else rule[role]


def sweep(
    client,
    role: str,
    *,
    expected: dict[str, Url] = EXPECTED,
    urlconf: str | None = None,
    keys: set[str] | None = None,
    swept: list[str] | None = None,
) -> list[str]:
    """Request every known URL as ``role`` (``client`` signed in as them) and return one
    line per answer that is not the expected one. ``keys`` limits the sweep to some URLs;
    ``swept``, when given, collects every request made."""
    objects = {name: load() for name, load in DEMO_OBJECTS.items()}
    mismatches = []
    swept = [] if swept is None else swept
    for endpoint in endpoints(urlconf):
        entry = entry_for(endpoint, expected)
        if entry is None or (keys is not None and endpoint.key not in keys):
            continue
        for method, rule in (("GET", entry.get), ("POST", entry.post)):
            if rule is None:
                continue
            for path, obj in _fillings(endpoint, entry, objects):
                match = resolve(path, urlconf)
                if endpoint.namespace != "admin" and match.view_name != endpoint.key.split(":*")[0]:
                    mismatches.append(f"{path} resolves to {match.view_name}, not {endpoint.key}")
                    continue
                outcome = _expected(rule, role, obj)
                response = _request(client, method, path)
                swept.append(f"{method} {path}")
                if not _accepts(outcome, response, path):
                    where = response.get("Location", "")
                    mismatches.append(
                        f"{role} {method} {path} ({endpoint.key}, {obj!r}): expected {outcome}, "
                        f"got {response.status_code}{' -> ' + where if where else ''}"
                    )
    return mismatches


def _request(client, method: str, path: str):
    """One request in a savepoint that is rolled back: a POST changes nothing for later."""
    with transaction.atomic():
        response = client.generic(method, path)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        transaction.set_rollback(True)
    return response


# --- Hostile input: no answer of 500 -----------------------------------------------------------
#
# Every URL is requested again with values storage and arithmetic cannot take: dates at the
# ends of the calendar (with offsets that push them past it), whole numbers beyond an integer
# column and beyond 64 bits, NUL characters, and (on the API) JSON nested thousands of levels
# deep. Each body sets every input the site's forms, serializers and query strings know (found
# below, so a new field is covered without editing this file): the fields of the flavour's
# type get the hostile value, the others a benign one, so the hostile value gets as far as
# validation and the services would let it. The answer may be anything but a server error.

HOSTILE = {
    "nul": {"any": "x\x00y"},
    "date-year-1": {"date": "0001-01-01", "datetime": "0001-01-01T00:00:00+14:00"},
    "date-year-9999": {"date": "9999-12-31", "datetime": "9999-12-31T23:59:59-12:00"},
    "date-before-2000": {"date": "1999-12-31", "datetime": "0001-01-02T00:00:00Z"},
    "number-beyond-integer": {"integer": 2147483653},
    "number-1e25": {"integer": 1e25},
    "number-beyond-64-bits": {"integer": 10**25},
    # A digit str.isdigit() accepts and int() refuses: an id typed in superscript.
    "digit-not-ascii": {"any": "\u00b2"},
}
BENIGN_TEXT = "A hostile-input sweep: one sentence, long enough for any reason field."
DEEP_JSON = "[" * 5000 + "]" * 5000
# The signed-in roles a hostile request is made as: each gets past the checks of its own
# objects (alice's requests, bob's assets, olivia's and lena's triage).
HOSTILE_ROLES = ["alice", "bob", "olivia", "lena"]


def _field_kind(field) -> tuple[str, object]:
    """(kind, benign value) of a form or serializer field."""
    from django import forms
    from rest_framework import serializers

    if isinstance(field, forms.DateTimeField | serializers.DateTimeField):
        return "datetime", None
    if isinstance(field, forms.DateField | serializers.DateField):
        return "date", None
    if isinstance(field, forms.BooleanField | serializers.BooleanField):
        return "boolean", None
    if isinstance(field, forms.TypedChoiceField) and field.coerce is int:
        return "integer", None
    if isinstance(field, forms.IntegerField | serializers.IntegerField):
        return "integer", 1
    if isinstance(field, forms.ModelChoiceField | serializers.RelatedField):
        return "relation", None
    if isinstance(field, serializers.ManyRelatedField | serializers.ListField):
        return "list", None
    if isinstance(field, forms.ChoiceField | serializers.ChoiceField):
        values = [
            str(value)
            for value, _ in list(
                field.choices.items() if isinstance(field.choices, dict) else field.choices
            )
            if value not in ("", None)
        ]
        return "choice", values[0] if values else None
    return "text", BENIGN_TEXT


def input_fields() -> dict[str, tuple[str, object]]:
    """Every input name the site reads, with its kind and a benign value: the fields of every
    form and serializer of the apps, and every query parameter the views read by name."""
    import importlib
    from pathlib import Path

    from django import forms
    from rest_framework import serializers

    apps = ("portal", "customers", "consent", "incidents")
    for app in apps:
        for module in ("forms", "serializers", "audit_api"):
            try:
                importlib.import_module(f"{app}.{module}")
            except ModuleNotFoundError:
                continue
    found: dict[str, tuple[str, object]] = {}

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for form in subclasses(forms.BaseForm):
        if form.__module__.split(".")[0] in apps:
            for name, field in form.base_fields.items():
                found.setdefault(name, _field_kind(field))
    for serializer in subclasses(serializers.Serializer):
        if serializer.__module__.split(".")[0] not in apps:
            continue
        for name, field in serializer._declared_fields.items():
            if not field.read_only:
                found.setdefault(name, _field_kind(field))
    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(
        r"""(?:GET|query_params)(?:\.get\(|\[)\s*["'](\w+)["']"""
        r"""|["'](\w+)["']\s+in\s+(?:self\.)?request\.(?:GET|query_params)"""
    )
    for app in apps:
        for path in (root / app).rglob("*.py"):
            for match in pattern.finditer(path.read_text()):
                found.setdefault(match[1] or match[2], ("text", BENIGN_TEXT))
    return found


def hostile_bodies(fields: dict[str, tuple[str, object]], *, json: bool) -> Iterator[tuple]:
    """(flavour, body) for each hostile flavour: fields of its kinds hostile, others benign.
    Form bodies and query strings carry text; JSON bodies carry numbers as numbers."""
    for flavour, values in HOSTILE.items():
        body = {}
        for name, (kind, benign) in fields.items():
            value = values.get(kind, values.get("any", benign))
            if value is None:
                continue
            body[name] = value if json and not isinstance(value, str) else str(value)
        yield flavour, body


def _gets_through(rule: Rule, role: str, obj) -> bool:
    return _expected(rule, role, obj) in (PAGE, PASSED)


def hostile_sweep(
    client, role: str, *, expected: dict[str, Url] = EXPECTED, keys: set[str] | None = None
) -> list[str]:
    """Request every URL ``role`` gets through to (its first such demo object) with every
    hostile flavour, as query string and (where it takes a POST) as body; return one line per
    answer of 500 or more."""
    import json

    objects = {name: load() for name, load in DEMO_OBJECTS.items()}
    fields = input_fields()
    failures = []
    for endpoint in endpoints():
        entry = entry_for(endpoint, expected)
        if entry is None or endpoint.namespace == "admin":
            continue
        if keys is not None and endpoint.key not in keys:
            continue
        api = endpoint.route.startswith("api/")
        for method, rule in (("GET", entry.get), ("POST", entry.post)):
            if rule is None:
                continue
            fillings = [
                (path, obj)
                for path, obj in _fillings(endpoint, entry, objects)
                if _gets_through(rule, role, obj)
            ][:1]
            for path, _ in fillings:
                requests = []
                for flavour, body in hostile_bodies(fields, json=False):
                    requests.append((flavour + " query", "GET", path, {"data": body}))
                if method == "POST" and api:
                    for flavour, body in hostile_bodies(fields, json=True):
                        data = json.dumps(body)
                        requests.append((flavour, "POST", path, {"data": data}))
                    requests.append(("deep-json", "POST", path, {"data": DEEP_JSON}))
                elif method == "POST":
                    for flavour, body in hostile_bodies(fields, json=False):
                        requests.append((flavour, "POST", path, {"data": body}))
                for flavour, verb, url, kwargs in requests:
                    if verb == "GET" and method == "POST":
                        continue  # a POST-only URL's GET is 405 whatever the query
                    response = _hostile_request(client, verb, url, api=api, **kwargs)
                    if response.status_code >= 500:
                        failures.append(
                            f"{role} {verb} {url} ({endpoint.key}) {flavour}: "
                            f"{response.status_code}"
                        )
    return failures


def _hostile_request(client, method: str, path: str, *, api: bool, data):
    with transaction.atomic():
        if method == "GET":
            response = client.get(path, data)
        elif api:
            response = client.post(path, data, content_type="application/json")
        else:
            response = client.post(path, data)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        transaction.set_rollback(True)
    return response
