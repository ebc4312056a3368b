from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from customers.models.catalogue import Classification
from incidents.models import Incident, Status
from portal.models import AuditEvent, Notification
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db


def test_report_by_carl_reaches_every_compliance_and_legal_inbox_and_mailbox(
    client, carl, responders, alice, asset, frozen, django_capture_on_commit_callbacks
):
    client.force_login(carl)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("incidents:report"),
            {
                "title": "Newsletter list e-mailed to a partner",
                "description": "I saw the list attached to an outgoing e-mail.",
                "discovered_at": "2025-03-03T09:30",
                "assets": [asset.pk],
                "estimated_customers": "400",
            },
        )

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("incidents:detail", args=[incident.pk])
    assert incident.reference == f"INC-2025-{incident.pk:05d}"
    assert incident.reporter == carl and incident.status == Status.REPORTED
    assert list(incident.assets.all()) == [asset]
    inboxes = Notification.objects.filter(kind="incident_reported")
    assert sorted(n.recipient.username for n in inboxes) == ["comp", "comp2", "legal"]
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in responders)
    assert all(incident.reference in m.subject for m in mail.outbox)
    assert AuditEvent.objects.filter(action="incident.report", target_id=str(incident.pk)).exists()


def test_after_submitting_the_reporter_sees_the_reference_and_what_happens_next(
    client, carl, responders
):
    client.force_login(carl)
    response = client.post(
        reverse("incidents:report"),
        {"title": "Lost laptop", "description": "Left on the train.", "discovered_at": ""},
        follow=True,
    )
    page = response.content.decode()
    reference = Incident.objects.get().reference
    assert response.status_code == 200
    assert f"Your report is {reference}" in page
    assert "What happens next" in page


def test_report_form_offers_discovery_now_and_only_visible_assets(client, carl, owner, asset):
    hidden = DataAssetFactory(owner=owner, classification=Classification.RESTRICTED)
    client.force_login(carl)

    form = client.get(reverse("incidents:report")).context["form"]

    assert list(form.fields["assets"].queryset) == [asset]
    assert hidden not in form.fields["assets"].queryset
    assert form.fields["discovered_at"].initial is not None


def test_carl_sees_only_his_own_reports_and_alice_gets_404_on_his(
    client, api_client, carl, alice, report
):
    carls = report()
    alices = report(reporter=alice, title="Alice's concern")

    client.force_login(carl)
    mine = client.get(reverse("incidents:mine"))
    assert [i.pk for i in mine.context["page"].object_list] == [carls.pk]
    assert client.get(reverse("incidents:list")).status_code == 302  # to "my reports"
    assert client.get(reverse("incidents:detail", args=[alices.pk])).status_code == 404

    client.force_login(alice)
    assert client.get(reverse("incidents:detail", args=[carls.pk])).status_code == 404
    api_client.force_authenticate(alice)
    assert api_client.get(f"/api/incidents/{carls.pk}/").status_code == 404
    listed = api_client.get("/api/incidents/").json()["results"]
    assert [row["id"] for row in listed] == [alices.pk]


def test_reporter_reads_status_but_not_the_triage_of_his_report(client, carl, report):
    incident = report()
    client.force_login(carl)

    response = client.get(reverse("incidents:detail", args=[incident.pk]))

    assert response.status_code == 200
    assert "triage_form" not in response.context
    assert "Timeline" not in response.content.decode()


def test_api_report_answers_201_with_reference_status_and_reporter(api_client, carl, responders):
    api_client.force_authenticate(carl)

    response = api_client.post(
        "/api/incidents/",
        {"title": "Wrong recipient", "description": "Sent the list to the wrong person."},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"].startswith("INC-")
    assert (body["status"], body["severity"], body["reporter"]) == (
        "reported",
        "",
        "Carl Christensen",
    )
    assert Notification.objects.filter(kind="incident_reported").count() == 3


@pytest.mark.parametrize(
    "change, field",
    [
        ({"discovered_at": "2099-01-01T00:00:00Z"}, "discovered_at"),
        ({"assets": [999999]}, "assets"),
        ({"title": ""}, "title"),
        ({"estimated_customers": -3}, "estimated_customers"),
    ],
)
def test_bad_report_is_a_400_with_the_field_and_nothing_is_filed(
    api_client, carl, responders, change, field
):
    api_client.force_authenticate(carl)
    body = {"title": "Something", "description": "Details."} | change

    response = api_client.post("/api/incidents/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Incident.objects.exists() and not Notification.objects.exists()


def test_an_asset_the_reporter_cannot_see_is_refused_like_an_unknown_one(
    client, api_client, carl, owner, responders
):
    hidden = DataAssetFactory(owner=owner, classification=Classification.RESTRICTED)
    api_client.force_authenticate(carl)
    client.force_login(carl)

    api = api_client.post(
        "/api/incidents/",
        {"title": "x", "description": "y", "assets": [hidden.pk]},
        format="json",
    )
    page = client.post(
        reverse("incidents:report"),
        {
            "title": "x",
            "description": "y",
            "discovered_at": "2020-01-01T10:00",
            "assets": [hidden.pk],
        },
    )

    assert api.status_code == 400 and "does not exist" in str(api.json()["assets"])
    assert page.status_code == 400 and page.context["form"].errors["assets"]
    assert not Incident.objects.exists()


def test_future_discovery_in_the_form_is_refused_with_a_message(client, carl, frozen):
    client.force_login(carl)
    future = "2025-03-04T09:00"

    response = client.post(
        reverse("incidents:report"), {"title": "x", "description": "y", "discovered_at": future}
    )

    assert response.status_code == 400
    assert "cannot be in the future" in str(response.context["form"].errors["discovered_at"])
    assert not Incident.objects.exists()


def test_discovery_typed_in_the_form_is_read_in_the_reporters_zone(client, carl, frozen):
    carl.time_zone = "America/New_York"
    carl.save()
    client.force_login(carl)

    client.post(
        reverse("incidents:report"),
        {"title": "x", "description": "y", "discovered_at": "2025-03-03T03:00"},
    )

    # 03:00 in New York (EST, UTC-5) is 08:00 UTC.
    assert Incident.objects.get().discovered_at == frozen_time() - timedelta(hours=1)


def frozen_time():
    from tests.incidents.conftest import T0

    return T0
