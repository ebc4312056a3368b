import csv
import io
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from consent.models import Purpose
from consent.selectors import eligible_customers
from customers.models.access import AccessRequest
from customers.models.catalogue import DataAsset
from portal.models import AuditEvent, User
from tests.customers.conftest import JUSTIFICATION, consent

pytestmark = pytest.mark.django_db

EMAIL = "marketing.communications.email"


def post(api_client, user, path, body=None):
    api_client.force_authenticate(user)
    return api_client.post(path, body or {}, format="json")


def test_api_request_answers_201_with_status_coverage_and_steps(
    api_client, requester, confidential_asset
):
    response = post(
        api_client,
        requester,
        "/api/access-requests/",
        {
            "asset": confidential_asset.pk,
            "purpose": "marketing.communications.email",
            "justification": JUSTIFICATION,
            "level": "export",
            "duration_days": 14,
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["coverage"] == {"eligible": 4, "total": 10}
    assert [(s["role"], s["status"]) for s in body["steps"]] == [
        ("owner", "open"),
        ("compliance", "waiting"),
    ]
    assert body["id"] == AccessRequest.objects.get().pk


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"asset": 999999}, 404, None),
        ({"asset": "abc"}, 400, "asset"),
        ({"purpose": "marketing.communications.email.x"}, 400, "purpose"),
        ({"purpose": "marketing "}, 400, "purpose"),
        ({"justification": "short"}, 400, "justification"),
        ({"duration_days": 91}, 400, "duration_days"),
        ({"duration_days": "thirty"}, 400, "duration_days"),
        ({"level": "everything"}, 400, "level"),
    ],
)
def test_api_bad_requests_change_nothing(
    api_client, requester, confidential_asset, body, status, field
):
    payload = {
        "asset": confidential_asset.pk,
        "purpose": "marketing.communications.email",
        "justification": JUSTIFICATION,
        **body,
    }

    response = post(api_client, requester, "/api/access-requests/", payload)

    assert response.status_code == status
    if field:
        assert field in response.json()
    assert not AccessRequest.objects.exists()


def test_api_invisible_asset_is_404(api_client, outsider, owner):
    from tests.factories import DataAssetFactory

    restricted = DataAssetFactory(owner=owner, classification="restricted", customers=2)
    response = post(
        api_client,
        outsider,
        "/api/access-requests/",
        {"asset": restricted.pk, "purpose": "essential.service", "justification": JUSTIFICATION},
    )

    assert response.status_code == 404


def test_api_approve_deny_withdraw_and_waiting_list(
    api_client, requester, owner, compliance_officer, outsider, confidential_asset
):
    created = post(
        api_client,
        requester,
        "/api/access-requests/",
        {
            "asset": confidential_asset.pk,
            "purpose": "marketing.communications.email",
            "justification": JUSTIFICATION,
        },
    ).json()
    path = f"/api/access-requests/{created['id']}"

    api_client.force_authenticate(owner)
    waiting = api_client.get("/api/access-requests/", {"waiting": 1}).json()["results"]
    assert [r["id"] for r in waiting] == [created["id"]]
    api_client.force_authenticate(compliance_officer)
    assert api_client.get("/api/access-requests/", {"waiting": 1}).json()["count"] == 0

    assert post(api_client, outsider, f"{path}/approve/", {"reason": "ok then"}).status_code == 404
    assert (
        post(api_client, compliance_officer, f"{path}/approve/", {"reason": "ok then"}).status_code
        == 403
    )
    assert post(api_client, owner, f"{path}/approve/", {}).status_code == 400
    approved = post(api_client, owner, f"{path}/approve/", {"reason": "Campaign is planned."})
    assert approved.status_code == 200
    assert [s["status"] for s in approved.json()["steps"]] == ["approved", "open"]
    assert post(api_client, owner, f"{path}/approve/", {"reason": "again"}).status_code == 403

    denied = post(api_client, compliance_officer, f"{path}/deny/", {"reason": "No consent basis."})
    assert denied.json()["status"] == "denied"
    withdrawn = post(api_client, requester, f"{path}/withdraw/")
    assert withdrawn.status_code == 400
    assert "already denied" in withdrawn.json()["detail"]


def test_api_refusal_is_a_400_with_reason_and_alternatives(
    api_client, requester, owner, confidential_asset
):
    from tests.factories import DataAssetFactory

    legacy = DataAssetFactory(owner=owner, name="Old list", customers=5)
    response = post(
        api_client,
        requester,
        "/api/access-requests/",
        {
            "asset": legacy.pk,
            "purpose": "marketing.communications.email",
            "justification": JUSTIFICATION,
        },
    )

    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == (
        "None of the 5 customers in Old list agreed to marketing.communications.email."
    )
    assert body["alternatives"]["assets"][0]["name"] == "Retail list"


def test_request_form_checks_coverage_without_javascript_and_sends(
    client, requester, confidential_asset
):
    client.force_login(requester)
    data = {
        "asset": confidential_asset.pk,
        "purpose": "marketing.communications.email",
        "justification": JUSTIFICATION,
        "level": "view",
        "duration_days": 30,
    }

    checked = client.post(reverse("customers:request_create"), {**data, "check": "1"})
    assert "4 of 10 customers are eligible" in checked.content.decode()
    assert not AccessRequest.objects.exists()

    sent = client.post(reverse("customers:request_create"), data)
    access_request = AccessRequest.objects.get()
    assert sent.status_code == 302
    assert sent["Location"] == reverse("customers:request_detail", args=[access_request.pk])


def test_request_form_shows_refusal_and_alternatives(client, requester, owner, confidential_asset):
    from tests.factories import DataAssetFactory

    legacy = DataAssetFactory(owner=owner, name="Old list", customers=5)
    client.force_login(requester)

    response = client.post(
        reverse("customers:request_create"),
        {
            "asset": legacy.pk,
            "purpose": "marketing.communications.email",
            "justification": JUSTIFICATION,
            "level": "view",
            "duration_days": 30,
            "idempotency_key": "form-key-1",  # the create runs in one transaction with it
        },
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "None of the 5 customers in Old list agreed to" in page
    assert "Retail list" in page
    # The refusal is audited although nothing is created (the transaction keeps it).
    assert AuditEvent.objects.filter(action="access_request.refused").count() == 1


def test_request_form_does_not_offer_or_accept_an_invisible_asset(client, outsider, owner):
    from tests.factories import DataAssetFactory

    restricted = DataAssetFactory(owner=owner, name="Secret list", classification="restricted")
    client.force_login(outsider)

    assert "Secret list" not in client.get(reverse("customers:request_create")).content.decode()
    response = client.post(
        reverse("customers:request_create"),
        {
            "asset": restricted.pk,
            "purpose": "essential.service",
            "justification": JUSTIFICATION,
            "level": "view",
            "duration_days": 30,
        },
    )
    assert response.status_code == 400
    assert not AccessRequest.objects.exists()


@pytest.fixture
def compliance_officers_request(
    compliance_officer, second_compliance_officer, owner, confidential_asset
):
    """Cora (compliance) asks for the owner's asset; the owner approves: the compliance
    step is open, and Cora is in the group that decides it."""
    from customers.services.access import access_request_create, access_request_decide

    access_request = access_request_create(
        actor=compliance_officer,
        asset=confidential_asset,
        purpose=Purpose.objects.get(key=EMAIL),
        justification=JUSTIFICATION,
    )
    access_request_decide(
        access_request=access_request, actor=owner, approve=True, reason="Planned campaign."
    )
    return access_request


def test_api_waiting_list_shows_a_compliance_officers_request_to_the_other_officer_only(
    api_client, compliance_officer, second_compliance_officer, compliance_officers_request
):
    api_client.force_authenticate(second_compliance_officer)
    theirs = api_client.get("/api/access-requests/", {"waiting": 1}).json()
    api_client.force_authenticate(compliance_officer)
    own = api_client.get("/api/access-requests/", {"waiting": 1}).json()
    mine = api_client.get("/api/access-requests/").json()

    assert [r["id"] for r in theirs["results"]] == [compliance_officers_request.pk]
    assert (own["count"], own["results"]) == (0, [])
    # She still sees it among her own requests, just not as one waiting for her.
    assert [r["id"] for r in mine["results"]] == [compliance_officers_request.pk]


def test_approvals_page_shows_a_compliance_officers_request_to_the_other_officer_only(
    client, compliance_officer, second_compliance_officer, compliance_officers_request
):
    client.force_login(second_compliance_officer)
    theirs = client.get(reverse("customers:approvals"))
    client.force_login(compliance_officer)
    own = client.get(reverse("customers:approvals"))

    assert [w.request.pk for w, _ in theirs.context["rows"]] == [compliance_officers_request.pk]
    assert own.context["rows"] == []
    assert "Nothing is waiting for you" in own.content.decode()


def test_approver_decides_from_the_approvals_page(client, requester, owner, confidential_asset):
    from customers.services.access import access_request_create

    access_request = access_request_create(
        actor=requester,
        asset=confidential_asset,
        purpose=Purpose.objects.get(key="marketing.communications.email"),
        justification=JUSTIFICATION,
    )
    client.force_login(owner)

    waiting = client.get(reverse("customers:approvals")).content.decode()
    assert "4 of 10 customers eligible" in waiting and JUSTIFICATION in waiting
    detail = client.get(reverse("customers:request_detail", args=[access_request.pk]))
    assert detail.context["can_decide"]
    response = client.post(
        reverse("customers:request_decide", args=[access_request.pk]),
        {"decision": "approve", "reason": "Planned spring campaign."},
    )

    assert response.status_code == 302
    assert access_request.chain.steps.get(position=1).status == "approved"
    assert (
        "Nothing is waiting for you" in client.get(reverse("customers:approvals")).content.decode()
    )


def test_seed_scenario_end_to_end_on_demo_data(api_client):
    """alice asks for Nordic retail customers for marketing e-mail; bob then olivia approve;
    the export holds exactly the customers who agreed; a later withdrawal drops one."""
    call_command("seed_demo", stdout=StringIO())
    alice, bob, olivia = (User.objects.get(username=n) for n in ("alice", "bob", "olivia"))
    nordic = DataAsset.objects.get(name="Nordic retail customers")
    purpose = Purpose.objects.get(key="marketing.communications.email")
    expected = set(eligible_customers(nordic, purpose).values_list("id", flat=True))
    assert 0 < len(expected) < 1200

    created = post(
        api_client,
        alice,
        "/api/access-requests/",
        {
            "asset": nordic.pk,
            "purpose": purpose.key,
            "justification": "Launch e-mail for the new home service to customers who agreed.",
            "level": "export",
        },
    ).json()
    assert created["coverage"] == {"eligible": len(expected), "total": 1200}
    path = f"/api/access-requests/{created['id']}"
    post(api_client, bob, f"{path}/approve/", {"reason": "Campaign approved by marketing lead."})
    done = post(api_client, olivia, f"{path}/approve/", {"reason": "Consent checked."}).json()
    assert done["status"] == "approved"

    def exported_ids():
        api_client.force_authenticate(alice)
        response = api_client.get(f"/api/grants/{done['grant']}/export/")
        assert response.status_code == 200
        body = b"".join(response.streaming_content).decode()
        return {int(row["id"]) for row in csv.DictReader(io.StringIO(body))}

    assert exported_ids() == expected
    leaving = nordic.customers.get(pk=min(expected))
    consent([leaving], status="withdrawn")
    assert exported_ids() == expected - {leaving.pk}


def test_legacy_request_is_refused_on_demo_data_and_reaches_no_approver(api_client):
    call_command("seed_demo", stdout=StringIO())
    alice = User.objects.get(username="alice")
    legacy = DataAsset.objects.get(name="Legacy import 2019")
    before = AccessRequest.objects.count()

    response = post(
        api_client,
        alice,
        "/api/access-requests/",
        {
            "asset": legacy.pk,
            "purpose": "marketing.communications.email",
            "justification": "Launch e-mail for the new home service to every contact we hold.",
        },
    )

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "None of the 800 customers in Legacy import 2019 agreed to marketing.communications.email."
    )
    names = {row["name"] for row in response.json()["alternatives"]["assets"]}
    assert "Nordic retail customers" in names
    assert AccessRequest.objects.count() == before


def granted_on_new_asset(requester, **asset_fields):
    """An active grant of ``requester`` for marketing e-mail on a new one-customer asset
    whose customer agreed."""
    from tests.customers.test_grants import approved_grant
    from tests.factories import DataAssetFactory

    asset = DataAssetFactory(customers=1, **asset_fields)
    consent(asset.customers.all())
    return approved_grant(requester, asset, Purpose.objects.get(key=EMAIL))


def ask_for(requester, asset):
    from customers.services.access import access_request_create

    return access_request_create(
        actor=requester,
        asset=asset,
        purpose=Purpose.objects.get(key=EMAIL),
        justification=JUSTIFICATION,
    )


def test_approvers_see_the_latest_five_other_grants_and_the_request_page_all(
    client, requester, owner, compliance_officer, confidential_asset
):
    for n in range(7):
        granted_on_new_asset(requester, owner=owner, name=f"List {n}")
    access_request = ask_for(requester, confidential_asset)
    client.force_login(owner)

    waiting = client.get(reverse("customers:approvals")).content.decode()
    shown = [f"List {n} (Marketing Email Communications" for n in range(7)]
    assert [name in waiting for name in shown] == [False, False, True, True, True, True, True]
    assert "and 2 more" in waiting
    detail = client.get(reverse("customers:request_detail", args=[access_request.pk]))
    assert all(name in detail.content.decode() for name in shown)


def test_other_grants_on_restricted_assets_are_counted_not_named_to_an_owner(
    client, requester, owner, compliance_officer, legal_counsel, confidential_asset
):
    from customers.models.catalogue import Classification
    from tests.factories import UserFactory

    granted_on_new_asset(
        requester,
        owner=UserFactory(username="keeper"),
        name="Board members' private contacts",
        classification=Classification.RESTRICTED,
        classification_confirmed=True,
    )
    access_request = ask_for(requester, confidential_asset)

    client.force_login(owner)
    waiting = client.get(reverse("customers:approvals")).content.decode()
    detail = client.get(reverse("customers:request_detail", args=[access_request.pk]))
    for page in (waiting, detail.content.decode()):
        assert "Board members" not in page
        assert "1 on assets you cannot see" in page

    client.force_login(compliance_officer)
    detail = client.get(reverse("customers:request_detail", args=[access_request.pk]))
    assert "Board members&#x27; private contacts (Marketing Email Communications" in (
        detail.content.decode()
    )


def test_other_grants_read_in_the_readers_language_time_zone_and_date_format():
    from datetime import UTC, datetime

    from django.template import Context, Template
    from django.utils import timezone, translation

    from customers.selectors.grants import NO_OTHER_GRANTS, OtherGrant, OtherGrants
    from customers.templatetags.access_grants import other_grants_text

    # 23:30 UTC on 30 November is already 1 December in Oslo.
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    grants = OtherGrants([OtherGrant("Kundeliste", "marketing.communications.email", late)], 3)
    with translation.override("nb"), timezone.override("Europe/Oslo"):
        day = Template('{{ d|date:"DATE_FORMAT" }}').render(Context({"d": late}))
        assert day == "01.12.2026"
        assert other_grants_text(grants) == (
            f"Kundeliste (Markedsføring på e-post, til {day}) og 2 til"
        )
        assert other_grants_text(OtherGrants([], 2)) == "2 på dataressurser du ikke kan se"
        assert other_grants_text(NO_OTHER_GRANTS) == "ingen"
    with translation.override("en-gb"):
        assert other_grants_text(NO_OTHER_GRANTS) == "none"


def test_a_grants_status_reads_in_the_readers_language():
    from django.utils import translation

    from customers.templatetags.access_grants import grant_status_label

    with translation.override("nb"):
        labels = [grant_status_label(s) for s in ("active", "expired", "revoked", "other")]
    assert labels == ["aktiv", "utløpt", "tilbakekalt", "other"]
    with translation.override("en-gb"):
        assert grant_status_label("revoked") == "revoked"


def test_my_requests_lists_each_request_with_its_terms_age_status_and_steps(
    client, requester, owner, confidential_asset
):
    import time_machine

    confidential_asset.name = "Retail & <partners>"
    confidential_asset.save()
    with time_machine.travel("2026-11-27 10:00:00+00:00", tick=False):
        access_request = ask_for(requester, confidential_asset)
    client.force_login(requester)

    with time_machine.travel("2026-11-30 10:00:00+00:00", tick=False):
        english = client.get(reverse("customers:request_list")).content.decode()
        requester.language = "nb"
        requester.save()
        norwegian = client.get(reverse("customers:request_list")).content.decode()

    link = f'<a href="/requests/{access_request.pk}/">Retail &amp; &lt;partners&gt;</a>'
    for page in (english, norwegian):
        assert link in page
        assert '<span class="badge text-bg-primary">' in page  # the owner's open step
        assert "1. " in page and owner.get_full_name() in page
    assert "Marketing Email Communications" in english
    assert "View records · 30 days</div>" in english
    assert "<td>3\xa0days ago</td>" in english
    assert "<td>Pending</td>" in english
    assert "30 dager</div>" in norwegian
    assert "<td>for 3\xa0dager siden</td>" in norwegian


def test_all_grants_rows_show_status_revoker_and_the_revoke_form_in_norwegian(
    client, requester, owner, compliance_officer, confidential_asset
):
    from customers.services.grants import grant_revoke
    from tests.customers.test_grants import approved_grant

    kept = approved_grant(requester, confidential_asset, Purpose.objects.get(key=EMAIL))
    gone = granted_on_new_asset(requester, name="Old <list>")
    grant_revoke(grant=gone, actor=compliance_officer, reason="No longer needed & done")
    compliance_officer.language = "nb"
    compliance_officer.save()
    client.force_login(compliance_officer)

    page = client.get(reverse("customers:grant_list_all"), {"page": 1}).content.decode()

    assert "<td>Old &lt;list&gt;</td>" in page
    assert 'tilbakekalt<div class="small text-muted">av ' in page
    assert ": No longer needed &amp; done</div>" in page
    assert f'action="/grants/{kept.pk}/revoke/"' in page
    assert f'action="/grants/{gone.pk}/revoke/"' not in page  # revoked: nothing to revoke
    assert 'name="next" value="/grants/all/?page=1"' in page
    assert '<div class="small text-muted">om ' in page  # time left on the active grant
    assert 'name="csrfmiddlewaretoken"' in page


def test_every_active_grant_on_a_page_has_its_own_revoke_form_with_the_pages_texts(
    client, requester, owner, compliance_officer
):
    grants = [granted_on_new_asset(requester, name=f"List {n}") for n in range(3)]
    compliance_officer.language = "nb"
    compliance_officer.save()
    client.force_login(compliance_officer)

    page = client.get(reverse("customers:grant_list_all"), {"q": "List"}).content.decode()

    for grant in grants:
        assert f'action="/grants/{grant.pk}/revoke/"' in page
        assert f'<label class="visually-hidden" for="reason-{grant.pk}">' in page
    # The texts, the CSRF field and the return address are worked out once a page and
    # written in every row alike.
    assert page.count(">Tilbakekall</button>") == 3
    returns = re.findall(
        r'/revoke/" class="d-flex[^>]*>\s*<input[^>]*>\s*<input[^>]*value="([^"]+)"', page
    )
    assert returns == ["/grants/all/?q=List"] * 3
    assert len(set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page))) == 1
