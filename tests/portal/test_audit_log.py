"""Compliance reads the audit log; nobody else knows it is there. What writes events beyond
the services: object permissions, Compliance/Legal membership, logins."""

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape
from django.utils.text import Truncator
from guardian.shortcuts import assign_perm, remove_perm

from portal import roles
from portal.audit import audit_record
from portal.audit_seal import seal_pending
from portal.models import AuditEvent
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


# --- Who may read it ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["requester", "owner", "legal_counsel", "outsider"])
@pytest.mark.parametrize(
    "path", ["/audit/", "/audit/export.csv", "/api/audit/", "/api/audit/verify/"]
)
def test_everyone_but_compliance_gets_404_on_the_audit_log(request, client, who, path):
    client.force_login(request.getfixturevalue(who))

    response = client.get(path)

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_a_superuser_outside_compliance_gets_404_too(client):
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))

    assert client.get("/audit/").status_code == 404
    assert client.get("/api/audit/").status_code == 404


def test_compliance_sees_the_audit_log_and_its_nav_item(client, compliance_officer, asset):
    audit_record(actor=compliance_officer, action="records.view", target=asset)
    client.force_login(compliance_officer)

    response = client.get("/audit/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/audit/">Audit log</a>' in page
    assert "records.view" in page and "Test customers" in page


def test_the_nav_item_is_hidden_from_other_employees(client, requester):
    client.force_login(requester)

    assert "Audit log" not in client.get(reverse("customers:asset_list")).content.decode()


# --- Filters, pagination, CSV -----------------------------------------------------------------


@pytest.fixture
def history(compliance_officer, requester, owner, asset):
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        audit_record(actor=requester, action="records.view", target=asset)
    with time_machine.travel(datetime(2026, 3, 5, 12, tzinfo=UTC), tick=False):
        audit_record(actor=owner, action="grant.create", target=asset)
        audit_record(actor=owner, action="grant.revoke", asset_id=asset.pk + 1)
    with time_machine.travel(datetime(2026, 3, 9, 12, tzinfo=UTC), tick=False):
        audit_record(actor=requester, action="export.download", target=asset)
    seal_pending()  # as the sealer does within a second


def listed(client, **params) -> list[str]:
    response = client.get("/api/audit/", params)
    assert response.status_code == 200, response.content
    return [row["action"] for row in response.json()["results"]]


def test_filters_by_actor_action_asset_and_dates_in_page_and_api(
    client, compliance_officer, requester, asset, history
):
    client.force_login(compliance_officer)
    audit_filters = {"action": "grant"}

    assert listed(client, actor="req") == ["export.download", "records.view"]
    assert listed(client, **audit_filters) == ["grant.revoke", "grant.create"]
    assert listed(client, action="grant.create") == ["grant.create"]
    assert listed(client, asset=asset.pk) == ["export.download", "grant.create", "records.view"]
    assert listed(client, date_from="2026-03-05", date_to="2026-03-05") == [
        "grant.revoke",
        "grant.create",
    ]
    page = client.get("/audit/", {"actor": "own", "date_to": "2026-03-05"})
    assert [e.action for e in page.context["page"].object_list] == ["grant.revoke", "grant.create"]


def test_an_action_filter_is_the_action_or_its_sub_actions_never_a_longer_name(
    client, compliance_officer, requester, asset
):
    for action in (
        "auth.login",
        "auth.login_failed",
        "access_request.create",
        "access_review.start",
    ):
        audit_record(actor=requester, action=action, target=asset)
    client.force_login(compliance_officer)

    # (Signing in wrote an auth.login of its own.)
    assert set(listed(client, action="auth.login")) == {"auth.login"}
    assert listed(client, action="auth.login_failed") == ["auth.login_failed"]
    assert "auth.login_failed" in listed(client, action="auth")
    assert listed(client, action="access_request") == ["access_request.create"]
    assert listed(client, action="access") == []


def test_the_count_up_to_the_cap_does_not_sort_the_events(
    client, compliance_officer, requester, asset
):
    # How many events there are up to the cap does not depend on their order; sorted,
    # PostgreSQL walked every event newest first to test its action (docs/performance.md).
    audit_record(actor=requester, action="records.view", target=asset)
    client.force_login(compliance_officer)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/audit/", {"action": "records"})
    counts = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT COUNT") and "portal_auditevent" in q["sql"]
    ]

    assert [e.action for e in page.context["page"].object_list] == ["records.view"]
    assert len(counts) == 1 and "ORDER BY" not in counts[0]


def test_the_actor_filter_finds_the_name_written_then_or_the_account_now_in_any_case(
    client, compliance_officer, requester, asset, django_assert_max_num_queries
):
    audit_record(actor=requester, action="records.view", target=asset)
    written_then = requester.username
    requester.username = "renamed"
    requester.save()
    audit_record(actor=requester, action="export.download", target=asset)
    audit_record(actor=None, action="notification.retry", target=asset)
    client.force_login(compliance_officer)

    # The name as written then finds only the event written under it.
    assert listed(client, actor=written_then.upper()) == ["records.view"]
    # The account's name now finds every event of the account, whatever its label.
    assert listed(client, actor="RENAMED") == ["export.download", "records.view"]
    assert listed(client, actor="nobody") == []
    with django_assert_max_num_queries(7):  # the page's 6 and the account's id
        page = client.get("/audit/", {"actor": "Renamed"})
    assert [e.action for e in page.context["page"].object_list] == [
        "export.download",
        "records.view",
    ]


def test_api_rows_carry_the_contract_fields(client, compliance_officer, asset, history):
    client.force_login(compliance_officer)

    row = client.get("/api/audit/", {"action": "records.view"}).json()["results"][0]

    assert row["actor"] == "req"
    assert row["target_type"] == "customers.dataasset"
    assert row["asset_id"] == asset.pk
    assert len(row["hash"]) == 64 and len(row["previous_hash"]) == 64


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2026-03-09", "date_to": "2026-03-01"},
        {"date_from": "yesterday"},
        {"asset": "abc"},
    ],
)
def test_bad_filters_are_a_clear_400_never_a_500(client, compliance_officer, params):
    client.force_login(compliance_officer)

    api = client.get("/api/audit/", params)
    page = client.get("/audit/", params)

    assert api.status_code == 400 and api.json()
    assert page.status_code == 400


def test_the_csv_download_holds_the_filtered_events_and_is_itself_audited(
    client, compliance_officer, asset, history
):
    client.force_login(compliance_officer)

    response = client.get("/audit/export.csv", {"action": "grant", "asset": asset.pk})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["action"] for row in rows] == ["grant.create"]
    assert rows[0]["actor_label"] == "own"
    assert rows[0]["hash"] == AuditEvent.objects.get(action="grant.create").hash
    export = AuditEvent.objects.get(action="audit.export")
    assert export.actor == compliance_officer
    assert export.detail == {"filters": {"action": "grant", "asset": asset.pk}, "rows": 1}


def test_a_csv_cell_that_looks_like_a_formula_is_neutralised(client, compliance_officer, owner):
    asset = DataAssetFactory(owner=owner, name='=HYPERLINK("http://x")')
    audit_record(actor=None, action="notification.retry", target=asset)
    client.force_login(compliance_officer)

    body = b"".join(client.get("/audit/export.csv", {"action": "notification"}).streaming_content)

    row = next(csv.DictReader(io.StringIO(body.decode())))
    assert row["target_label"] == '\'=HYPERLINK("http://x")'


@pytest.mark.parametrize("size", [10, 500])
def test_the_audit_page_and_api_take_the_same_number_of_queries_at_any_size(
    client, compliance_officer, requester, asset, size, django_assert_max_num_queries
):
    for number in range(size):
        audit_record(actor=requester, action="records.view", target=asset, detail={"n": number})
    client.force_login(compliance_officer)

    with django_assert_max_num_queries(6):  # 5 and the navigation's unread count
        page = client.get("/audit/")
    with django_assert_max_num_queries(5):
        api = client.get("/api/audit/")

    total = AuditEvent.objects.count()  # and the officer's joining Compliance and login
    assert total == size + 2
    assert len(page.context["page"].object_list) == min(total, 50)
    assert api.json()["count"] == total


def test_a_broad_filter_on_a_long_log_counts_up_to_the_cap_and_says_more(
    client, compliance_officer, requester, asset, monkeypatch
):
    from portal.pagination import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 120)
    for number in range(130):
        audit_record(actor=requester, action="records.view", target=asset, detail={"n": number})
    for _ in range(3):
        audit_record(actor=requester, action="export.download", target=asset)
    client.force_login(compliance_officer)

    broad = client.get("/audit/", {"action": "records"})
    text = broad.content.decode()
    assert "Page 1 of 3+ · more than 120 events: narrow the filters to see the rest" in text
    assert len(broad.context["page"].object_list) == 50
    # Under the cap the count is exact.
    narrow = client.get("/audit/", {"action": "export"})
    assert "Page 1 of 1 · 3 events" in narrow.content.decode()
    exact = client.get("/api/audit/", {"action": "export"}).json()
    assert (exact["count"], exact["count_capped"]) == (3, False)


def test_the_api_counts_a_long_log_up_to_the_cap_and_its_next_links_reach_every_event(
    client, compliance_officer, requester, asset, monkeypatch
):
    from portal.pagination import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 120)
    for number in range(130):
        audit_record(actor=requester, action="records.view", target=asset, detail={"n": number})
    client.force_login(compliance_officer)

    first = client.get("/api/audit/", {"action": "records"}).json()
    assert (first["count"], first["count_capped"]) == (120, True)
    seen, url = [], "/api/audit/?action=records&page_size=40"
    while url:
        body = client.get(url).json()
        seen += [event["detail"]["n"] for event in body["results"]]
        url = body["next"]
    # Newest first, every event once, past the cap (four pages of 40).
    assert seen == list(range(129, -1, -1))
    past_the_end = client.get("/api/audit/", {"action": "records", "page": 5, "page_size": 40})
    assert past_the_end.status_code == 404
    assert past_the_end.json() == {"detail": "Invalid page."}
    # A page number no database offset can hold is refused the same way, not a 500.
    beyond = client.get("/api/audit/", {"action": "records", "page": 10**25})
    assert beyond.status_code == 404


def test_verify_api_answers_ok_checked_and_first_bad(client, compliance_officer):
    audit_record(actor=None, action="records.view")
    client.force_login(compliance_officer)
    seal_pending()

    body = client.get("/api/audit/verify/").json()

    assert {key: body[key] for key in ("ok", "checked", "first_bad")} == {
        "ok": True,
        "checked": AuditEvent.objects.count(),
        "first_bad": None,
    }


# --- Admin: read-only -------------------------------------------------------------------------


def test_the_admin_does_not_show_the_audit_log(client):
    """The audit log is compliance's (``/audit/``); the administrator gets 404 there and
    finds no copy of it in the admin."""
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    event = audit_record(actor=None, action="records.view")
    client.force_login(admin)

    assert client.get("/admin/portal/auditevent/").status_code == 404
    assert client.get(f"/admin/portal/auditevent/{event.pk}/change/").status_code == 404
    assert client.post(f"/admin/portal/auditevent/{event.pk}/delete/").status_code == 404
    assert client.get("/audit/").status_code == 404
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- Permission changes, group membership, logins ---------------------------------------------


def test_assigning_and_removing_an_object_permission_is_audited(requester, asset):
    assign_perm("customers.view_records", requester, asset)
    remove_perm("customers.view_records", requester, asset)
    group = Group.objects.create(name="Analysts")
    assign_perm("customers.export_records", group, asset)

    events = list(AuditEvent.objects.order_by("id"))
    assert [e.action for e in events] == [
        "permission.assign",
        "permission.remove",
        "permission.assign",
    ]
    assert events[0].asset_id == asset.pk
    assert events[0].detail == {"permission": "view_records", "user": "req"}
    assert events[2].detail == {"permission": "export_records", "group": "Analysts"}


def test_joining_and_leaving_compliance_or_legal_is_audited_from_both_sides(requester, outsider):
    compliance = Group.objects.get(name=roles.COMPLIANCE)
    legal = Group.objects.get(name=roles.LEGAL)

    requester.groups.add(compliance)
    legal.user_set.add(outsider, requester)
    requester.groups.add(compliance)  # already a member: nothing new
    requester.groups.remove(legal)
    legal.user_set.remove(requester)  # no longer a member: nothing to record
    compliance.user_set.clear()
    outsider.groups.clear()

    recorded = [
        (e.action, e.detail["group"], e.detail["user"]) for e in AuditEvent.objects.order_by("id")
    ]
    # The two added at once are inserted in the order of a set of their ids: either order.
    recorded[1:3] = sorted(recorded[1:3], reverse=True)
    assert recorded == [
        ("group.member_add", "Compliance", "req"),
        ("group.member_add", "Legal", "req"),
        ("group.member_add", "Legal", "out"),
        ("group.member_remove", "Legal", "req"),
        ("group.member_remove", "Compliance", "req"),
        ("group.member_remove", "Legal", "out"),
    ]


def test_other_groups_are_not_audited(requester):
    requester.groups.add(Group.objects.create(name="Book club"))

    assert actions() == []


def test_a_membership_change_in_the_admin_names_the_administrator(client, requester):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    compliance = Group.objects.get(name=roles.COMPLIANCE)

    response = client.post(
        f"/admin/portal/user/{requester.pk}/change/",
        {
            "username": "req",
            "first_name": "Rita",
            "last_name": "Requester",
            "email": "req@example.com",
            "is_active": "on",
            "groups": [compliance.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "time_zone": "",
        },
    )

    assert response.status_code == 302, response.content
    event = AuditEvent.objects.get(action="group.member_add")
    assert (event.actor, event.detail["user"], event.channel) == (admin, "req", "web")


def test_logins_logouts_and_failed_logins_are_audited_without_the_password(client, requester):
    client.post("/accounts/login/", {"username": "req", "password": "wrong password 123"})
    client.post("/accounts/login/", {"username": "req", "password": "correct horse battery staple"})
    client.post("/accounts/logout/")

    failed, login, logout = AuditEvent.objects.order_by("id")
    assert (failed.action, failed.actor, failed.actor_label) == (
        "auth.login_failed",
        None,
        "anonymous",
    )
    assert failed.detail == {"username": "req"}
    assert (login.action, login.actor, login.channel) == ("auth.login", requester, "web")
    assert (logout.action, logout.actor) == ("auth.logout", requester)
    assert "wrong password" not in str(failed.detail) + failed.target_label


def test_the_audit_log_shows_each_events_detail_as_readable_fields(
    client, compliance_officer, asset
):
    audit_record(
        actor=compliance_officer,
        action="records.view",
        target=asset,
        detail={"purpose_key": "marketing.communications.email", "customer_ids": [3, 5]},
    )
    client.force_login(compliance_officer)

    page = client.get("/audit/").content.decode()

    assert "Purpose key:</span> marketing.communications.email" in page
    assert "Customer ids:</span> 3, 5" in page
    assert "{&quot;" not in page and "{'" not in page  # no raw JSON


def test_a_long_detail_text_is_escaped_then_cut_and_each_row_links_its_asset(
    client, compliance_officer, asset
):
    reason = "Tom & Jerry's <list> at 100% " * 10
    for _ in range(2):
        audit_record(
            actor=compliance_officer,
            action="asset.classification_change",
            target=asset,
            detail={"reason": reason, "rows": None},
        )
    client.force_login(compliance_officer)

    page = client.get("/audit/", {"action": "asset"}).content.decode()

    # The page cuts the escaped text at 120 characters, entities counted as they print.
    cut = Truncator(escape(reason)).chars(120)
    assert page.count(f'<span class="text-muted">Reason:</span> {cut}</div>') == 2
    assert page.count('<span class="text-muted">Rows:</span> none</div>') == 2
    link = f'<a href="?asset={asset.pk}" title="Events of this asset">(asset {asset.pk})</a>'
    assert page.count(link) == 2
