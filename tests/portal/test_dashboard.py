"""The dashboard: the home page shows each role what needs it, in a fixed number of queries."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from consent.models import Purpose
from customers.models.catalogue import Classification
from customers.services.access import access_request_create, access_request_decide
from customers.services.exports import grant_export_start
from incidents.services.reports import incident_acknowledge, incident_report
from incidents.services.triage import incident_triage
from portal.dashboard import page
from portal.dashboard.layout import Section
from portal.dashboard.page import SECTIONS
from portal.errors import CoverageRefusal
from portal.services import audit_anchor_write
from tests.customers.conftest import JUSTIFICATION
from tests.customers.test_grants import approved_grant
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db

ESSENTIAL = "essential.service"


def make_asset(owner, name, *, customers=3):
    return DataAssetFactory(
        owner=owner,
        name=name,
        customers=customers,
        categories=["user.contact.email"],
        collected_for=[ESSENTIAL],
        classification=Classification.CONFIDENTIAL,
        classification_confirmed=True,
    )


def report_breach(*, reporter, responder, title: str):
    """``reporter`` reports; ``responder`` acknowledges it and decides it is a breach."""
    incident = incident_report(
        actor=reporter, title=title, description="Customer data reached the wrong people."
    )
    incident_acknowledge(actor=responder, incident=incident)
    return incident_triage(
        actor=responder,
        incident=incident,
        severity="high",
        personal_data_breach=True,
        breach_reason="Customer contact details were readable by people outside the company.",
    )


def populate(size, *, requester, owner, legal, django_capture_on_commit_callbacks):
    """``size`` of everything a dashboard shows: grants (each exported once), requests
    waiting for the owner, incidents (every other one a breach), refused requests."""
    essential = Purpose.objects.get(key=ESSENTIAL)
    marketing = Purpose.objects.get(key="marketing.communications.email")
    colleague = UserFactory(username=f"colleague{size}")
    for n in range(size):
        asset = make_asset(owner, f"List {n:03d}")
        grant = approved_grant(requester, asset, essential)
        grant_export_start(grant=grant, actor=requester)
        access_request_create(
            actor=colleague, asset=asset, purpose=essential, justification=JUSTIFICATION
        )
        with pytest.raises(CoverageRefusal):
            access_request_create(
                actor=requester, asset=asset, purpose=marketing, justification=JUSTIFICATION
            )
        with django_capture_on_commit_callbacks(execute=True):
            if n % 2:
                report_breach(reporter=requester, responder=legal, title=f"Breach {n}")
            else:
                incident_report(
                    actor=requester, title=f"Concern {n}", description="A list on a drive."
                )


def home(client, user):
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response


def section_keys(response) -> list[str]:
    return [section.key for section in response.context["dashboard"].sections]


def section(response, key):
    return next(s for s in response.context["dashboard"].sections if s.key == key)


# --- Who sees what ------------------------------------------------------------------------


def test_home_sends_visitors_to_the_login_page(client):
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")


def test_employee_sees_requests_with_their_step_grants_with_days_left_and_reports(
    client, requester, owner, compliance_officer, django_capture_on_commit_callbacks
):
    essential = Purpose.objects.get(key=ESSENTIAL)
    granted = approved_grant(requester, make_asset(owner, "Granted list"), essential, days=3)
    access_request_create(
        actor=requester,
        asset=make_asset(owner, "Pending list"),
        purpose=essential,
        justification=JUSTIFICATION,
    )
    with django_capture_on_commit_callbacks(execute=True):
        incident_report(
            actor=requester, title="Printed list in the lift", description="Left behind."
        )

    response = home(client, requester)
    page = response.content.decode()

    assert section_keys(response) == ["my-requests", "my-grants", "my-reports"]
    assert "waiting for Data owner (Otto Owner), step 1 of 2" in page
    assert re.search("expires in (2|3)\xa0days", page)
    assert reverse("customers:grant_records", args=[granted.pk]) in page
    assert "Printed list in the lift" in page
    assert "Requests per week" not in page  # charts are for owners and compliance


def test_employee_with_nothing_yet_sees_what_to_do_next(client, requester):
    page = home(client, requester).content.decode()

    assert "You have not asked for any customer data yet" in page
    assert "You hold no active grant" in page
    assert "You have not reported anything" in page
    assert "Nothing is waiting for you right now." in page


def test_owner_sees_approvals_waiting_who_holds_access_and_what_expires(
    client, requester, owner, compliance_officer
):
    essential = Purpose.objects.get(key=ESSENTIAL)
    approved_grant(requester, make_asset(owner, "Soon over"), essential, days=2)
    approved_grant(requester, make_asset(owner, "Long running"), essential, days=60)
    access_request_create(
        actor=requester,
        asset=make_asset(owner, "Asked for"),
        purpose=essential,
        justification=JUSTIFICATION,
    )

    response = home(client, owner)
    page = response.content.decode()

    assert section_keys(response)[:3] == ["approvals", "access-to-my-assets", "expiring-grants"]
    assert section(response, "approvals").count == 1
    assert "Rita Requester asks for Asked for" in page
    assert [g.asset.name for g in section(response, "access-to-my-assets").context["grants"]] == [
        "Soon over",
        "Long running",
    ]
    assert [g.asset.name for g in section(response, "expiring-grants").context["grants"]] == [
        "Soon over"
    ]
    assert 'id="needs-you"' in page and 'href="#approvals"' in page


def test_compliance_sees_open_incidents_overdue_first_with_their_clocks(
    client, requester, compliance_officer, legal_counsel, django_capture_on_commit_callbacks
):
    start = timezone.now() - timedelta(days=5)
    with django_capture_on_commit_callbacks(execute=True):
        with time_machine.travel(start, tick=False):
            report_breach(reporter=requester, responder=compliance_officer, title="Old breach")
        fresh = incident_report(actor=requester, title="Fresh report", description="Just now.")

    response = home(client, compliance_officer)
    rows = section(response, "open-incidents").context["incidents"]
    page = response.content.decode()

    assert [row.title for row in rows] == ["Old breach", "Fresh report"]
    assert rows[0].overdue and not rows[1].late
    assert "Overdue" in page
    assert "Acknowledge within" in page
    assert fresh.reference in page
    assert section(response, "open-incidents").attention


def test_compliance_sees_coverage_of_assets_in_use_recent_exports_and_charts(
    client, requester, owner, compliance_officer
):
    essential = Purpose.objects.get(key=ESSENTIAL)
    grant = approved_grant(requester, make_asset(owner, "In use", customers=4), essential)
    grant_export_start(grant=grant, actor=requester)

    response = home(client, compliance_officer)
    page = response.content.decode()
    rows = section(response, "coverage").context["rows"]

    assert [(r["asset"].name, r["coverage"].eligible, r["coverage"].total) for r in rows] == [
        ("In use", 4, 4)
    ]
    assert "req exported 4 rows" in page
    for chart in ("coverage-per-asset", "requests-per-week"):
        assert f'data-chart="{chart}-data"' in page
        assert f'id="{chart}-data" type="application/json"' in page
    assert "No incident has been reported yet." in page  # an empty chart is a sentence
    assert "vendor/chartjs/chart.umd.min.js" in page


def test_chart_tables_hold_the_numbers_for_screen_readers_and_pages_without_javascript(
    client, requester, owner, compliance_officer
):
    essential = Purpose.objects.get(key=ESSENTIAL)
    approved_grant(requester, make_asset(owner, "Week list"), essential)

    response = home(client, compliance_officer)
    chart = section(response, "requests-chart").context["chart"]
    page = response.content.decode()

    approved = next(s for s in chart.series if s["label"] == "Approved")
    assert approved["data"][-1] == 1  # this week
    # The canvas starts hidden and aria-hidden; the table is there whatever the script does.
    assert '<div class="chart-canvas" hidden><canvas aria-hidden="true"' in page
    assert '<caption class="caption-top">Access requests per week by outcome</caption>' in page


def test_audit_trail_status_is_the_latest_anchor_not_a_new_walk(
    client, requester, compliance_officer, tmp_path
):
    page = home(client, compliance_officer).content.decode()
    assert "Not verified yet." in page

    audit_anchor_write(actor=None, directory=tmp_path)
    page = home(client, compliance_officer).content.decode()

    assert "Intact" in page and "verified up to event #" in page


def test_a_failed_verification_is_shown_as_broken(client, compliance_officer, tmp_path):
    (tmp_path / "anchor-20200101T000000000000Z-999999.json").write_text(
        '{"event_id": 999999, "position": 999999, "hash": "x", '
        '"anchored_at": "2020-01-01T00:00:00Z"}'
    )
    audit_anchor_write(actor=None, directory=tmp_path)

    response = home(client, compliance_officer)

    assert "Broken" in response.content.decode()
    assert section(response, "audit-chain").attention


def test_legal_sees_its_approvals_and_breaches_and_no_compliance_sections(
    client, requester, owner, compliance_officer, legal_counsel, django_capture_on_commit_callbacks
):
    restricted = make_asset(owner, "Restricted list")
    restricted.classification = Classification.RESTRICTED
    restricted.save()
    access_request = access_request_create(
        actor=requester,
        asset=restricted,
        purpose=Purpose.objects.get(key=ESSENTIAL),
        justification=JUSTIFICATION,
    )
    for actor in (owner, compliance_officer):
        access_request_decide(
            access_request=access_request, actor=actor, approve=True, reason="Needed for it."
        )
    with django_capture_on_commit_callbacks(execute=True):
        report_breach(reporter=requester, responder=legal_counsel, title="Laptop lost")
        incident_report(actor=requester, title="Not a breach yet", description="Unclear.")

    response = home(client, legal_counsel)
    keys = section_keys(response)

    assert section(response, "approvals").count == 1
    assert [i.title for i in section(response, "breaches").context["incidents"]] == ["Laptop lost"]
    assert "incidents-chart" in keys
    for compliance_only in ("open-incidents", "coverage", "recent-exports", "audit-chain"):
        assert compliance_only not in keys


# --- Extension point ----------------------------------------------------------------------


def test_a_section_added_to_the_extension_point_is_rendered_for_whom_it_returns(
    client, requester, owner, monkeypatch
):
    def sharing_requests_section(viewer):
        if not viewer.is_owner:
            return None
        return Section(
            key="sharing-requests",
            title="Sharing requests",
            template="portal/dashboard/expiring_grants.html",
            context={"grants": []},
            count=2,
            attention=True,
        )

    monkeypatch.setattr(page, "SECTIONS", [*SECTIONS, sharing_requests_section])
    make_asset(owner, "Owned")

    owner_page = home(client, owner).content.decode()
    employee_page = home(client, requester).content.decode()

    assert 'id="sharing-requests"' in owner_page and 'href="#sharing-requests"' in owner_page
    assert 'id="sharing-requests"' not in employee_page


def test_assets_past_retention_and_subject_requests_reach_the_dashboards(
    client, owner, compliance_officer, requester
):
    from datetime import date

    from customers.services.subject_requests import subject_request_create

    past = make_asset(owner, "Old campaign list")
    past.retention_date = date(2020, 1, 31)
    past.save()
    make_asset(owner, "Current list")
    customer = past.customers.first()
    subject_request_create(
        actor=compliance_officer,
        type="access",
        customer=customer,
        received_on=timezone.localdate() - timedelta(days=40),
        identity_verification="Signed-in customer account, matched e-mail address.",
    )

    officer_page = home(client, compliance_officer).content.decode()
    owner_page = home(client, owner).content.decode()
    employee_page = home(client, requester).content.decode()

    assert 'id="retention"' in officer_page and "Old campaign list" in officer_page
    assert "Current list" not in officer_page.split('id="retention"')[1].split("</section>")[0]
    assert 'id="subject-requests"' in officer_page and "overdue since" in officer_page
    assert 'id="retention"' in owner_page and "Old campaign list" in owner_page
    assert 'id="subject-requests"' not in owner_page
    assert 'id="retention"' not in employee_page


# --- Query counts -------------------------------------------------------------------------

# Size 14 is past every list's cut (10 rows) and the coverage table's 10 (asset, purpose)
# pairs: compliance's bound includes two queries per pair (``coverage_for``).
# Compliance and owners also read the retention list; compliance the subject requests and
# the record of processing activities' gaps (at most 10 queries, whatever the data size);
# owners their erasure tasks (two queries: the tasks, their assets). Every role reads
# whether access review items wait for them (one query).
QUERY_BOUNDS = {"requester": 14, "owner": 26, "compliance_officer": 64, "legal_counsel": 18}


@pytest.mark.parametrize("size", [2, 14])
@pytest.mark.parametrize("role", list(QUERY_BOUNDS))
def test_dashboard_query_count_does_not_grow_with_requests_grants_and_incidents(
    client,
    request,
    role,
    size,
    requester,
    owner,
    compliance_officer,
    legal_counsel,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    populate(
        size,
        requester=requester,
        owner=owner,
        legal=legal_counsel,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )
    user = request.getfixturevalue(role)
    client.force_login(user)

    with django_assert_max_num_queries(QUERY_BOUNDS[role]):
        response = client.get(reverse("home"))

    assert response.status_code == 200
    assert response.context["dashboard"].sections


# --- Pages in the layout -----------------------------------------------------------------


def test_not_found_page_is_in_the_portal_layout(client, requester):
    client.force_login(requester)

    missing = client.get("/assets/999999/")

    assert missing.status_code == 404
    page = missing.content.decode()
    assert "<title>Not found · Compliance portal</title>" in page
    assert 'aria-label="Main navigation"' in page and ">Dashboard</a>" in page


def test_forbidden_page_is_in_the_portal_layout(client, requester, owner, compliance_officer):
    grant = approved_grant(
        requester, make_asset(owner, "View only"), Purpose.objects.get(key=ESSENTIAL), level="view"
    )
    client.force_login(requester)

    response = client.get(reverse("customers:grant_export", args=[grant.pk]))

    assert response.status_code == 403
    page = response.content.decode()
    assert "<title>" in page and 'aria-label="Main navigation"' in page


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def test_templates_have_no_inline_scripts_or_event_handlers_for_a_strict_csp():
    offenders = []
    for path in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        text = path.read_text()
        if INLINE_SCRIPT.search(text) or INLINE_HANDLER.search(text):
            offenders.append(str(path))

    assert offenders == []
