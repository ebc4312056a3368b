"""Where is this customer? The footprint, the customer search and who may see them."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consent.models import ConsentRecord, Purpose
from customers.models.access import AccessGrant
from customers.models.catalogue import Customer, DataAsset
from customers.models.subject_requests import DataSubjectRequest
from customers.selectors.footprint import customer_footprint
from customers.services.access import access_request_decide
from customers.services.assets import asset_add_customers
from customers.services.subject_requests import erasure_task_confirm, subject_request_create
from portal.audit import audit_record
from portal.models import User
from tests.customers.conftest import consent
from tests.customers.test_export_ledger import ledger_from_audit_events
from tests.customers.test_grants import approved_grant
from tests.factories import CustomerFactory, DataAssetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=StringIO())


def export(client, grant):
    response = client.get(f"/api/grants/{grant.pk}/export/")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    return response["X-Export-Id"]


def test_footprint_of_a_demo_customer_lists_everything_that_concerns_them_and_nobody_else(
    demo, api_client
):
    olivia, alice, bob = (User.objects.get(username=n) for n in ("olivia", "alice", "bob"))
    customer = DataSubjectRequest.objects.get(type="erasure").customer
    # bob approves alice's pending request for the newsletter list; alice exports it twice,
    # the second time after another subscriber withdrew.
    pending = alice.access_requests.get(asset__name="Newsletter subscribers")
    access_request_decide(
        access_request=pending, actor=bob, approve=True, reason="Fine for the newsletter."
    )
    api_client.force_authenticate(alice)
    first = export(api_client, pending.grant)
    assert first
    api_client.force_authenticate(olivia)

    body = api_client.get(f"/api/customers/{customer.pk}/footprint/").json()

    holding = set(customer.assets.values_list("name", flat=True))
    assert holding == {"Newsletter subscribers", "Event attendees 2024"}
    assert {a["name"] for a in body["assets"]} == holding
    assert {a["owner"] for a in body["assets"]} == {"bob", "dora"}
    records = set(ConsentRecord.objects.filter(customer=customer).values_list("pk", flat=True))
    assert {r["id"] for r in body["consent_history"]} == records and records
    assert [c["purpose"] for c in body["current_consents"]] == ["marketing"]
    grants = set(AccessGrant.objects.filter(asset__customers=customer).values_list("pk", flat=True))
    assert {g["id"] for g in body["grants"]} == grants and len(grants) == 2
    assert [(e["export_id"], e["included"]) for e in body["exports"]] == [(first, True)]
    assert [r["type"] for r in body["subject_requests"]] == ["erasure"]

    # Nothing about any other customer: no other id, name or e-mail appears anywhere.
    text = json.dumps(body, cls=DjangoJSONEncoder)
    for other in Customer.objects.exclude(pk=customer.pk).filter(assets__name__in=holding):
        assert other.email not in text and other.name not in text


def test_an_export_that_did_not_include_the_customer_is_not_in_their_footprint(
    api_client, requester, compliance_officer, confidential_asset, email_marketing
):
    grant = approved_grant(requester, confidential_asset, email_marketing)
    customers = list(confidential_asset.customers.order_by("id"))
    withdrawn, stays = customers[0], customers[1]
    api_client.force_authenticate(requester)
    before = export(api_client, grant)
    consent([withdrawn], status="withdrawn")
    after = export(api_client, grant)

    assert [e["export_id"] for e in customer_footprint(withdrawn).exports] == [before]
    assert [e["export_id"] for e in customer_footprint(stays).exports] == [before, after]
    # Not eligible now for the grant's purpose: marked, still listed (they were readable).
    [row] = customer_footprint(withdrawn).grants
    assert row["grant"] == grant and row["eligible_now"] is False
    # A customer who was never eligible was still readable through no export.
    never = customers[-1]
    assert customer_footprint(never).exports == []


def test_an_export_from_before_per_customer_records_is_listed_as_possibly_including_them(
    requester, compliance_officer, confidential_asset, email_marketing
):
    """An export audited before exports had rows of their own or recorded their customers:
    the migration that made the ledger gives it a row, listed as possibly including them."""
    grant = approved_grant(requester, confidential_asset, email_marketing)
    customer = confidential_asset.customers.first()
    audit_record(
        actor=requester,
        action="export.download",
        target=grant,
        asset_id=grant.asset_id,
        detail={"export_id": "old", "rows": 4, "purpose": grant.purpose.key},
    )
    ledger_from_audit_events(django_apps, None)

    [row] = customer_footprint(customer).exports
    assert (row["export_id"], row["included"], row["rows"], row["grant_id"]) == (
        "old",
        None,
        4,
        grant.pk,
    )
    assert (row["by"], row["purpose"]) == ("req", email_marketing.key)


def test_footprint_period_leaves_out_grants_and_exports_outside_it(
    api_client, requester, owner, compliance_officer, email_marketing
):
    with time_machine.travel(datetime(2025, 1, 1, 12, tzinfo=UTC)):
        asset = DataAssetFactory(owner=owner, name="Old list", customers=2)
        customer = asset.customers.order_by("id").first()
        consent([customer])
    with time_machine.travel(datetime(2025, 1, 10, 12, tzinfo=UTC)):
        old = approved_grant(requester, asset, email_marketing, days=5)
        api_client.force_authenticate(requester)
        export(api_client, old)
    with time_machine.travel(datetime(2025, 6, 10, 12, tzinfo=UTC)):
        recent = approved_grant(requester, asset, email_marketing, days=5)
        api_client.force_authenticate(compliance_officer)
        url = f"/api/customers/{customer.pk}/footprint/"

        spring = api_client.get(url, {"since": "2025-03-01", "until": "2025-12-31"}).json()
        january = api_client.get(url, {"until": "2025-01-31"}).json()
        everything = api_client.get(url).json()
        bad = api_client.get(url, {"since": "2025-12-31", "until": "2025-03-01"})
        garbage = api_client.get(url, {"since": "yesterday"})

    assert [g["id"] for g in spring["grants"]] == [recent.pk]
    assert spring["exports"] == []
    assert [g["id"] for g in january["grants"]] == [old.pk]
    assert len(january["exports"]) == 1
    assert [g["id"] for g in everything["grants"]] == [old.pk, recent.pk]
    assert bad.status_code == 400 and garbage.status_code == 400


def test_a_grant_that_ended_before_the_customer_joined_the_asset_is_not_in_their_footprint(
    requester, owner, compliance_officer, email_marketing
):
    with time_machine.travel(datetime(2025, 1, 1, 12, tzinfo=UTC)):
        asset = DataAssetFactory(owner=owner, name="Growing list", customers=1)
        consent(asset.customers.all())
        approved_grant(requester, asset, email_marketing, days=5)
    newcomer = CustomerFactory()
    asset_add_customers(asset=asset, actor=owner, customers=[newcomer])

    assert customer_footprint(newcomer).grants == []
    assert [m.asset for m in customer_footprint(newcomer).memberships] == [asset]


def test_after_erasure_the_footprint_shows_where_the_customer_was_and_until_when(
    compliance_officer, owner, confidential_asset
):
    customer = confidential_asset.customers.first()
    subject_request = subject_request_create(
        actor=compliance_officer,
        type="erasure",
        customer=customer,
        identity_verification="Passport checked at the desk.",
    )
    erasure_task_confirm(actor=owner, task=subject_request.erasure_tasks.get())

    footprint = customer_footprint(customer)
    [membership] = footprint.memberships
    assert membership.asset == confidential_asset and membership.until is not None
    assert customer_footprint(customer, since=membership.until + timedelta(seconds=1)).assets == []


def test_customer_search_by_email_name_or_id_for_compliance_and_legal_only(
    api_client, compliance_officer, legal_counsel, owner, outsider
):
    ada = CustomerFactory(name="Ada Lovelace", email="ada@example.org")
    CustomerFactory(name="Bob Builder", email="bob@example.org")

    for user in (compliance_officer, legal_counsel):
        api_client.force_authenticate(user)
        by_email = api_client.get("/api/customers/", {"q": "ADA@example"}).json()
        by_name = api_client.get("/api/customers/", {"q": "lovelace"}).json()
        by_id = api_client.get("/api/customers/", {"q": str(ada.pk)}).json()
        assert [c["id"] for c in by_email["results"]] == [ada.pk]
        assert [c["id"] for c in by_name["results"]] == [ada.pk]
        assert ada.pk in [c["id"] for c in by_id["results"]]
        assert api_client.get("/api/customers/", {"q": "nobody-like-this"}).json()["count"] == 0
    for user in (owner, outsider):
        api_client.force_authenticate(user)
        assert api_client.get("/api/customers/", {"q": "ada"}).status_code == 404


def test_only_compliance_sees_footprints(
    client, api_client, compliance_officer, legal_counsel, owner, outsider, confidential_asset
):
    customer = confidential_asset.customers.first()
    api_url = f"/api/customers/{customer.pk}/footprint/"
    page_url = reverse("customers:customer_footprint", args=[customer.pk])
    search_url = reverse("customers:customer_search")
    for user in (legal_counsel, owner, outsider):
        api_client.force_authenticate(user)
        client.force_login(user)
        assert api_client.get(api_url).status_code == 404
        assert client.get(page_url).status_code == 404
        assert client.get(search_url, {"q": customer.email}).status_code == 404
    api_client.force_authenticate(compliance_officer)
    client.force_login(compliance_officer)
    assert api_client.get(api_url).status_code == 200
    assert api_client.get("/api/customers/999999/footprint/").status_code == 404
    page = client.get(page_url)
    assert page.status_code == 200 and confidential_asset.name in page.content.decode()
    found = client.get(search_url, {"q": customer.email})
    assert list(found.context["page"].object_list) == [customer]


def test_the_consents_endpoint_answers_as_before(api_client, legal_counsel, confidential_asset):
    customer = confidential_asset.customers.order_by("id").first()
    api_client.force_authenticate(legal_counsel)

    body = api_client.get(f"/api/customers/{customer.pk}/consents/").json()

    assert body["customer"] == customer.pk
    assert [c["purpose"] for c in body["current"]] == ["marketing.communications.email"]


@pytest.mark.parametrize("count", [3, 30])
def test_customer_search_runs_constant_queries(
    client, api_client, compliance_officer, count, django_assert_max_num_queries
):
    CustomerFactory.create_batch(count, name="Same Name")
    api_client.force_authenticate(compliance_officer)
    with django_assert_max_num_queries(4):
        assert api_client.get("/api/customers/", {"q": "same"}).json()["count"] == count
    client.force_login(compliance_officer)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("customers:customer_search"), {"q": "same"}).status_code == 200


def test_a_customer_search_counts_up_to_its_cap_and_the_api_in_one_scan(
    client, api_client, compliance_officer
):
    """The page counts the matches up to the thousand it sorts by name, then reads its page
    sorted by name; the API reads its page and count in one scan (a window). The whole
    list (no search) keeps a count and a page."""
    CustomerFactory.create_batch(30, name="Same Name")
    CustomerFactory(name="Other")
    client.force_login(compliance_officer)
    api_client.force_authenticate(compliance_officer)

    with CaptureQueriesContext(connection) as searched:
        page = client.get(reverse("customers:customer_search"), {"q": "same", "page": 2})
    with CaptureQueriesContext(connection) as asked:
        answer = api_client.get("/api/customers/", {"q": "same", "page_size": 20, "page": 2})
    with CaptureQueriesContext(connection) as listed:
        whole = api_client.get("/api/customers/", {"page_size": 20}).json()

    assert (page.context["page"].paginator.count, len(page.context["page"].object_list)) == (30, 5)
    assert page.context["page"].paginator.capped is False
    assert (answer.json()["count"], len(answer.json()["results"])) == (30, 10)
    assert (whole["count"], len(whole["results"])) == (31, 20)
    on_page = [q["sql"] for q in searched.captured_queries if "customers_customer" in q["sql"]]
    assert len(on_page) == 2
    assert "COUNT(*)" in on_page[0] and "LIMIT 1001" in on_page[0]
    assert 'ORDER BY "customers_customer"."name" ASC' in on_page[1]
    in_api = [q["sql"] for q in asked.captured_queries if "customers_customer" in q["sql"]]
    assert [sql for sql in in_api if "COUNT(*) AS" in sql] == []
    assert len([sql for sql in in_api if "COUNT(*) OVER ()" in sql]) == 1
    assert [q for q in listed.captured_queries if "COUNT(*) OVER ()" in q["sql"]] == []


def test_a_broad_customer_search_is_listed_by_id_and_asks_for_more(client, compliance_officer):
    """Past a thousand matches the page does not sort them all by name: it lists them by
    customer id, says "more than 1,000", and asks for more of the name, the e-mail address
    or the id; the count reads no more than the thousand and first."""
    # Names in the opposite order of the ids: a list by name would start with the last.
    Customer.objects.bulk_create(
        Customer(name=f"Wide Ltd {9999 - number:04}", email=f"wide{number}@example.org")
        for number in range(1_005)
    )
    CustomerFactory(name="Narrow Ltd Co")
    client.force_login(compliance_officer)

    with CaptureQueriesContext(connection) as searched:
        answer = client.get(reverse("customers:customer_search"), {"q": "ltd"})
    page = answer.context["page"]

    assert page.paginator.capped is True and page.paginator.count == 1_000
    ids = [customer.pk for customer in page.object_list]
    assert ids == sorted(ids) and len(ids) == 25
    assert page.object_list[0].name == "Wide Ltd 9999"
    text = answer.content.decode()
    assert "More than 1,000 customers match, listed by customer id" in text
    assert "Page 1 of 40+" in text
    on_page = [q["sql"] for q in searched.captured_queries if "customers_customer" in q["sql"]]
    assert not any('ORDER BY "customers_customer"."name"' in sql for sql in on_page)
    assert "LIMIT 1001" in on_page[0]
    # A narrower search is sorted by name again.
    narrow = client.get(reverse("customers:customer_search"), {"q": "narrow"}).context["page"]
    assert [c.name for c in narrow.object_list] == ["Narrow Ltd Co"]
    assert narrow.paginator.capped is False


def test_footprint_queries_do_not_grow_with_the_number_of_exports(
    api_client,
    requester,
    compliance_officer,
    confidential_asset,
    email_marketing,
    django_assert_max_num_queries,
):
    grant = approved_grant(requester, confidential_asset, email_marketing)
    customer = confidential_asset.customers.order_by("id").first()
    api_client.force_authenticate(requester)
    export(api_client, grant)
    first = len(customer_footprint(customer).exports)
    for _ in range(5):
        export(api_client, grant)
    api_client.force_authenticate(compliance_officer)
    with django_assert_max_num_queries(16):
        body = api_client.get(f"/api/customers/{customer.pk}/footprint/").json()
    assert (first, len(body["exports"])) == (1, 6)
    assert Purpose.objects.filter(key=body["grants"][0]["purpose"]).exists()
    assert DataAsset.objects.filter(pk=body["assets"][0]["id"]).exists()


@pytest.mark.postgres
def test_customer_search_reads_the_trigram_indexes_of_name_and_email(compliance_officer):
    """The search's own statement, as PostgreSQL plans it when a table scan is ruled out,
    reads the indexes of the capitals (migration 0016): an index the statement cannot use
    (an expression written differently) would leave every search capitalising 100,000
    customers."""
    from django.db import connection

    from customers.selectors.customer_search import customer_search

    CustomerFactory(name="Åse Ødegård", email="ase@example.no")
    CustomerFactory(name="Per Hansen", email="per.hansen@example.no")
    found = customer_search(compliance_officer, "ødegård")
    sql, params = found.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "customer_name_trigram" in plan and "customer_email_trigram" in plan
    assert [customer.name for customer in found] == ["Åse Ødegård"]
