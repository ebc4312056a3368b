import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm, get_perms, remove_perm

from customers.models.access import AccessGrant
from customers.models.exports import Export
from customers.services.access import access_request_create, access_request_decide
from customers.services.grants import grant_revoke, grants_expire, grants_remind_expiring
from customers.tasks import expire_grants
from portal.models import AuditEvent, Notification
from tests.customers.conftest import JUSTIFICATION, consent
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db


def approved_grant(requester, asset, purpose, *, level="export", days=30):
    access_request = access_request_create(
        actor=requester,
        asset=asset,
        purpose=purpose,
        justification=JUSTIFICATION,
        level=level,
        duration_days=days,
    )
    for step in access_request.chain.steps.order_by("position"):
        from portal.approvals import deciders_for

        step.refresh_from_db()
        access_request_decide(
            access_request=access_request,
            actor=deciders_for(step).first(),
            approve=True,
            reason="Fine for the campaign.",
        )
    return AccessGrant.objects.get(request=access_request)


@pytest.fixture
def grant(requester, compliance_officer, confidential_asset, email_marketing):
    return approved_grant(requester, confidential_asset, email_marketing)


def read_csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def eligible_ids(asset) -> set[int]:
    return set(asset.customers.order_by("id").values_list("id", flat=True)[:4])


@pytest.mark.parametrize(
    ("approved", "expires"),
    [
        # 30 days across the start of summer time: 10:00 CET to 10:00 CEST, 29 days 23 h.
        (datetime(2025, 3, 15, 10, 0), datetime(2025, 4, 14, 10, 0)),
        # 1 day approved at 00:30 on the 31st: the next calendar day in Oslo.
        (datetime(2025, 1, 31, 0, 30), datetime(2025, 2, 1, 0, 30)),
    ],
)
def test_a_grant_of_n_days_ends_n_calendar_days_later_at_the_same_oslo_time(
    requester, confidential_asset, email_marketing, compliance_officer, approved, expires
):
    oslo = ZoneInfo("Europe/Oslo")
    days = (expires.date() - approved.date()).days
    with time_machine.travel(approved.replace(tzinfo=oslo), tick=False):
        grant = approved_grant(requester, confidential_asset, email_marketing, days=days)

    assert grant.expires_at == expires.replace(tzinfo=oslo)


def test_records_page_shows_only_eligible_customers_and_is_audited(client, requester, grant):
    client.force_login(requester)

    response = client.get(reverse("customers:grant_records", args=[grant.pk]))

    assert response.status_code == 200
    shown = {row["id"] for row in response.context["page"].object_list}
    assert shown == eligible_ids(grant.asset)
    assert response.context["columns"] == ["id", "name", "email"]
    assert (
        'eligible for <span class="taxonomy-name">Marketing Email Communications</span> '
        '<small class="taxonomy-key text-body-secondary"><code>marketing.communications.email'
        in response.content.decode()
    )
    event = AuditEvent.objects.get(action="records.view")
    assert (event.actor, event.detail["shown"]) == (requester, 4)


def test_export_streams_eligible_rows_with_only_the_categories_columns(client, requester, grant):
    client.force_login(requester)

    response = client.get(reverse("customers:grant_export", args=[grant.pk]))

    assert response.status_code == 200
    assert response.streaming
    export_id = response["X-Export-Id"]
    assert f"export-{export_id}.csv" in response["Content-Disposition"]
    rows = read_csv(response)
    assert {int(row["id"]) for row in rows} == eligible_ids(grant.asset)
    assert list(rows[0]) == ["id", "name", "email"]
    event = AuditEvent.objects.get(action="export.download")
    assert event.detail["export_id"] == export_id and event.detail["rows"] == 4
    # The ledger row beside the audit event: the same export, under the grant.
    [export] = Export.objects.all()
    assert (export.export_id, export.grant, export.package, export.rows) == (
        export_id,
        grant,
        None,
        4,
    )
    assert (export.actor, export.audit_event, export.customers_recorded) == (requester, event, True)
    assert export.columns == ["id", "name", "email"]


def test_a_withdrawal_drops_the_customer_from_the_next_export_without_new_approval(
    client, requester, grant
):
    client.force_login(requester)
    leaving = grant.asset.customers.order_by("id").first()

    consent([leaving], status="withdrawn")
    rows = read_csv(client.get(reverse("customers:grant_export", args=[grant.pk])))

    assert leaving.pk not in {int(row["id"]) for row in rows}
    assert len(rows) == 3


def test_a_view_grant_cannot_export(
    client, requester, confidential_asset, email_marketing, compliance_officer
):
    grant = approved_grant(requester, confidential_asset, email_marketing, level="view")
    client.force_login(requester)

    assert client.get(reverse("customers:grant_records", args=[grant.pk])).status_code == 200
    assert client.get(reverse("customers:grant_export", args=[grant.pk])).status_code == 403
    assert not requester.has_perm("customers.export_records", confidential_asset)


def test_an_expired_grant_is_refused_before_the_job_runs_and_loses_its_permission_after(
    client, api_client, requester, grant
):
    api_client.force_authenticate(requester)

    with time_machine.travel(grant.expires_at + timedelta(minutes=1)):
        client.force_login(requester)
        assert client.get(reverse("customers:grant_records", args=[grant.pk])).status_code == 403
        assert client.get(reverse("customers:grant_export", args=[grant.pk])).status_code == 403
        assert api_client.get(f"/api/grants/{grant.pk}/records/").status_code == 403
        assert api_client.get(f"/api/grants/{grant.pk}/export/").status_code == 403
        assert requester.has_perm("customers.view_records", grant.asset)  # job not run yet

        assert grants_expire() == 1
        assert grants_expire() == 0

    requester = type(requester).objects.get(pk=requester.pk)
    assert not requester.has_perm("customers.view_records", grant.asset)
    expired = Notification.objects.get(recipient=requester, kind="grant_expired")
    # The purpose by name and key, never its row id.
    assert f"({grant.purpose.key}) has expired" in expired.body
    assert AuditEvent.objects.filter(action="grant.expire").count() == 1


def test_an_expired_grant_gives_no_records_through_the_api_before_the_job_runs(
    api_client, requester, grant
):
    api_client.force_authenticate(requester)
    names = list(grant.asset.customers.values_list("name", flat=True))
    assert api_client.get(f"/api/grants/{grant.pk}/records/").json()["count"] == 4

    with time_machine.travel(grant.expires_at + timedelta(seconds=1)):
        records = api_client.get(f"/api/grants/{grant.pk}/records/")
        export = api_client.get(f"/api/grants/{grant.pk}/export/")
        listed = api_client.get("/api/grants/").json()["results"]

    assert records.status_code == 403 and "expired" in records.json()["detail"]
    assert export.status_code == 403
    assert not any(name in records.content.decode() for name in names)
    assert [(g["id"], g["status"]) for g in listed] == [(grant.pk, "expired")]
    # The beat job has not run: only the read itself refused.
    assert not AccessGrant.objects.get(pk=grant.pk).expiry_processed
    assert AuditEvent.objects.filter(action="records.view").count() == 1


def test_an_expired_grant_gives_no_records_on_the_page_before_the_job_runs(
    client, requester, grant
):
    client.force_login(requester)
    names = list(grant.asset.customers.values_list("name", flat=True))
    url = reverse("customers:grant_records", args=[grant.pk])
    assert client.get(url).status_code == 200

    with time_machine.travel(grant.expires_at + timedelta(seconds=1)):
        client.force_login(requester)  # the first session has aged out by then
        page = client.get(url)
        export = client.get(reverse("customers:grant_export", args=[grant.pk]))
        listed = [
            (g.pk, g.status) for g in client.get(reverse("customers:grant_list")).context["page"]
        ]

    assert page.status_code == 403 and "Not allowed" in page.content.decode()
    assert export.status_code == 403
    assert not any(name in page.content.decode() for name in names)
    assert listed == [(grant.pk, "expired")]
    assert not AccessGrant.objects.get(pk=grant.pk).expiry_processed
    assert AuditEvent.objects.filter(action="records.view").count() == 1


@pytest.fixture
def restricted_export_grant(requester, owner, compliance_officer, legal_counsel, email_marketing):
    """An export grant on a restricted asset: the asset is visible to the grantee only
    because of the grant's object permissions."""
    asset = DataAssetFactory(
        owner=owner,
        name="Board members",
        customers=3,
        classification="restricted",
        classification_confirmed=True,
    )
    consent(asset.customers.all())
    return approved_grant(requester, asset, email_marketing, level="export")


def restricted_asset_answers(client, api_client, user, asset) -> tuple[int, int]:
    """What the asset's page and its API answer ``user``, read fresh from the database."""
    client.force_login(user)
    api_client.force_authenticate(user)
    page = client.get(reverse("customers:asset_detail", args=[asset.pk]))
    api = api_client.get(f"/api/assets/{asset.pk}/")
    return page.status_code, api.status_code


def end_grant(how: str, grant, owner) -> None:
    if how == "revoke":
        grant_revoke(grant=grant, actor=owner, reason="The board list is off limits.")
    else:
        with time_machine.travel(grant.expires_at + timedelta(minutes=1)):
            assert expire_grants.delay().get() == 1  # the beat job, as beat sends it


@pytest.mark.parametrize("how", ["revoke", "expire"])
def test_ending_an_export_grant_removes_both_permissions_and_hides_the_restricted_asset(
    client, api_client, requester, owner, restricted_export_grant, how
):
    asset = restricted_export_grant.asset
    assert requester.has_perm("customers.view_records", asset)
    assert requester.has_perm("customers.export_records", asset)
    assert restricted_asset_answers(client, api_client, requester, asset) == (200, 200)

    end_grant(how, restricted_export_grant, owner)

    holder = type(requester).objects.get(pk=requester.pk)  # guardian caches per user object
    assert restricted_asset_answers(client, api_client, holder, asset) == (404, 404)
    assert get_perms(holder, asset) == []


def test_an_expired_grant_stops_showing_the_restricted_asset_before_the_job_runs(
    client, api_client, requester, restricted_export_grant
):
    asset = restricted_export_grant.asset

    with time_machine.travel(restricted_export_grant.expires_at + timedelta(minutes=1)):
        answers = restricted_asset_answers(client, api_client, requester, asset)
        listed = [row["id"] for row in api_client.get("/api/assets/").json()["results"]]
        catalogue = [a.pk for a in client.get(reverse("customers:asset_list")).context["page"]]

    assert answers == (404, 404)
    assert asset.pk not in listed and asset.pk not in catalogue
    # The beat job has not run: the permissions are still there, the expiry alone decides.
    assert requester.has_perm("customers.export_records", asset)


def test_grantee_is_reminded_once_three_days_before_expiry(requester, grant):
    with time_machine.travel(grant.expires_at - timedelta(days=4)):
        assert grants_remind_expiring() == 0
    with time_machine.travel(grant.expires_at - timedelta(days=2, hours=23)):
        assert grants_remind_expiring() == 1
        assert grants_remind_expiring() == 0

    assert Notification.objects.filter(recipient=requester, kind="grant_expiring").count() == 1


@pytest.mark.parametrize("who", ["owner", "compliance_officer"])
def test_owner_and_compliance_revoke_with_a_reason(request, client, requester, grant, who):
    revoker = request.getfixturevalue(who)
    client.force_login(revoker)

    response = client.post(
        reverse("customers:grant_revoke", args=[grant.pk]),
        {"reason": "Campaign cancelled by management."},
    )

    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_by == revoker and grant.status == "revoked"
    requester = type(requester).objects.get(pk=requester.pk)
    assert not requester.has_perm("customers.view_records", grant.asset)
    client.force_login(requester)
    assert client.get(reverse("customers:grant_records", args=[grant.pk])).status_code == 403
    assert Notification.objects.filter(recipient=requester, kind="grant_revoked").exists()


def test_others_cannot_revoke(client, api_client, requester, outsider, grant):
    # The grantee sees the grant but may not revoke it; an outsider does not see it at all.
    client.force_login(requester)
    assert (
        client.post(
            reverse("customers:grant_revoke", args=[grant.pk]), {"reason": "Not mine."}
        ).status_code
        == 403
    )
    api_client.force_authenticate(outsider)
    response = api_client.post(
        f"/api/grants/{grant.pk}/revoke/", {"reason": "I want it gone."}, format="json"
    )
    assert response.status_code == 404
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_another_employee_cannot_reach_a_grant_by_changing_ids(client, api_client, outsider, grant):
    client.force_login(outsider)
    api_client.force_authenticate(outsider)

    for url in [
        reverse("customers:grant_records", args=[grant.pk]),
        reverse("customers:grant_export", args=[grant.pk]),
        reverse("customers:request_detail", args=[grant.request_id]),
    ]:
        assert client.get(url).status_code == 404, url
    for url in [
        f"/api/grants/{grant.pk}/",
        f"/api/grants/{grant.pk}/records/",
        f"/api/grants/{grant.pk}/export/",
        f"/api/access-requests/{grant.request_id}/",
    ]:
        assert api_client.get(url).status_code == 404, url
    assert api_client.get("/api/grants/").json()["count"] == 0


def test_compliance_cannot_read_records_through_someone_elses_grant(
    client, compliance_officer, grant
):
    client.force_login(compliance_officer)

    assert client.get(reverse("customers:grant_records", args=[grant.pk])).status_code == 404


def test_a_grant_whose_permission_was_taken_away_reads_nothing(
    client, api_client, requester, grant
):
    """The object permission a grant gave its holder is checked on every read: taken away
    (an administrator, guardian's ``remove_perm``), the page, the export and the API are a
    403 (the API saying why), and a group's permission on the asset does not stand in for
    it."""
    client.force_login(requester)
    api_client.force_authenticate(requester)
    records = reverse("customers:grant_records", args=[grant.pk])
    assert client.get(records).status_code == 200
    analysts = Group.objects.create(name="Analysts")
    requester.groups.add(analysts)
    for codename in ("view_records", "export_records"):
        remove_perm(f"customers.{codename}", requester, grant.asset)
        assign_perm(f"customers.{codename}", analysts, grant.asset)

    page = client.get(records)
    exported = client.get(reverse("customers:grant_export", args=[grant.pk]))
    answer = api_client.get(f"/api/grants/{grant.pk}/records/")

    assert [page.status_code, exported.status_code, answer.status_code] == [403, 403, 403]
    names = grant.asset.customers.values_list("name", flat=True)
    assert not any(name in page.content.decode() for name in names)
    assert answer.json()["detail"] == "Your permission on this asset has been removed."


def make_grant_with_eligible(requester, owner, purpose, count):
    asset = DataAssetFactory(
        owner=owner,
        customers=count,
        categories=["user.contact.email", "user.name"],
        classification="internal",
        classification_confirmed=True,
    )
    consent(asset.customers.all())
    return approved_grant(requester, asset, purpose, level="export")


@pytest.mark.parametrize("count", [10, 1000])
def test_records_page_runs_a_constant_number_of_queries(
    client, requester, owner, email_marketing, count, django_assert_max_num_queries
):
    grant = make_grant_with_eligible(requester, owner, email_marketing, count)
    client.force_login(requester)

    with django_assert_max_num_queries(18):
        response = client.get(reverse("customers:grant_records", args=[grant.pk]))

    assert response.context["page"].paginator.count == count


@pytest.mark.parametrize("count", [10, 1000])
def test_records_api_runs_a_constant_number_of_queries(
    api_client, requester, owner, email_marketing, count, django_assert_max_num_queries
):
    grant = make_grant_with_eligible(requester, owner, email_marketing, count)
    api_client.force_authenticate(requester)

    with django_assert_max_num_queries(14):
        response = api_client.get(f"/api/grants/{grant.pk}/records/")

    assert response.json()["count"] == count
    assert len(response.json()["results"]) == min(count, 50)
    # Each record carries the grant's columns and nothing else (the page's count is read
    # with the page, and stays out of the rows).
    columns = response.json()["columns"]
    assert all(list(record) == columns for record in response.json()["results"])


def test_grant_lists_by_scope(client, requester, owner, compliance_officer, outsider, grant):
    client.force_login(owner)
    assert [g.pk for g in client.get(reverse("customers:grant_list_owned")).context["page"]] == [
        grant.pk
    ]
    client.force_login(outsider)
    assert client.get(reverse("customers:grant_list_all")).status_code == 404
    client.force_login(compliance_officer)
    page = client.get(reverse("customers:grant_list_all"), {"user": requester.pk})
    assert [g.pk for g in page.context["page"]] == [grant.pk]
    assert "Showing only the grants of <strong>Rita Requester</strong>" in page.content.decode()
    assert "Marketing Email Communications</span>" in page.content.decode()
    assert "<code>marketing.communications.email</code>" in page.content.decode()
    assert grant.expires_at > timezone.now()


@pytest.fixture
def berg_grant(confidential_asset, email_marketing, grant):
    """Bo Berg's grant on "Event guests", beside the requester's ``grant``."""
    guests = DataAssetFactory(owner=confidential_asset.owner, name="Event guests", customers=2)
    consent(guests.customers.all())
    return approved_grant(
        UserFactory(username="bo", first_name="Bo", last_name="Berg"), guests, email_marketing
    )


def grants_found(client, **params) -> list[int]:
    """The grants compliance's list of every grant shows for ``params``."""
    return [g.pk for g in client.get(reverse("customers:grant_list_all"), params).context["page"]]


def test_compliance_searches_every_grant_by_holder_or_asset(
    client, compliance_officer, grant, berg_grant
):
    other = berg_grant
    client.force_login(compliance_officer)
    url = reverse("customers:grant_list_all")

    def found(**params):
        return grants_found(client, **params)

    assert found(q="rita") == [grant.pk]
    assert found(q="berg") == [other.pk]
    assert found(q="retail") == [grant.pk]
    assert found(q="guests", status="active") == [other.pk]
    assert found(q="nobody by that name") == []
    # The page offers a search box, not a list of every holder and asset.
    body = client.get(url).content.decode()
    assert 'name="q"' in body and "<option" not in body.split('name="status"')[0]


def test_a_search_naming_many_people_finds_the_same_grants_as_one_naming_few(
    client, compliance_officer, berg_grant
):
    from django.contrib.auth import get_user_model

    from customers.forms import FEW_NAMED

    client.force_login(compliance_officer)

    assert grants_found(client, q="berg") == [berg_grant.pk]  # one named: grants by id
    # As many more Bergs holding nothing as a search reads by id: now read as a subquery.
    get_user_model().objects.bulk_create(
        get_user_model()(username=f"berg-{n}", last_name="Berg") for n in range(FEW_NAMED)
    )
    assert grants_found(client, q="berg") == [berg_grant.pk]
    assert grants_found(client, q="BERG") == [berg_grant.pk]


def test_a_holder_filter_that_is_not_understood_says_so_and_shows_every_grant(
    client, compliance_officer, grant
):
    client.force_login(compliance_officer)

    page = client.get(reverse("customers:grant_list_all"), {"user": "999999", "q": "x"})

    assert page.status_code == 200
    assert "These filters were not understood, so every grant is shown" in page.content.decode()
    assert [g.pk for g in page.context["page"]] == [grant.pk]


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/assets/", "/assets/"),
        ("grant_list", None),  # a bare word: redirect() would try it as a view name
        ("\u00b2", None),
        ("//evil.example/", None),
        ("https://evil.example/", None),
    ],
)
def test_revoking_goes_back_only_to_a_path_on_this_site(client, owner, grant, next_url, lands_on):
    client.force_login(owner)

    response = client.post(
        reverse("customers:grant_revoke", args=[grant.pk]),
        {"reason": "Campaign cancelled by management.", "next": next_url},
    )

    assert response.status_code == 302
    assert response["Location"] == (lands_on or reverse("customers:grant_list"))
    grant.refresh_from_db()
    assert grant.status == "revoked"
