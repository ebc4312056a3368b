"""Names and titles people type are shown in lists, e-mails and exports: none may hold an
invisible or text-direction character (a zero-width space, a right-to-left override), which
would make one title look like another or reverse what follows it. The joiners that Persian,
Indic scripts and emoji need inside a word stay allowed."""

import pytest
from django.urls import reverse

from incidents.models import Incident
from portal.errors import ApplicationError
from tests.factories import DataAssetFactory

RLO_TITLE = "Invoice \u202egpj.exe"  # reads "Invoice exe.jpg"
ZERO_WIDTH_TITLE = "Lost\u200b laptop"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "title",
    [RLO_TITLE, ZERO_WIDTH_TITLE, "\ufeffLost laptop", "Lost laptop\u2066", "Lost\u2028laptop"],
    ids=["rlo", "zwsp", "bom", "isolate", "line-separator"],
)
def test_an_incident_title_with_an_invisible_character_is_a_400_naming_it(
    api_client, requester, title
):
    api_client.force_authenticate(requester)

    response = api_client.post(
        "/api/incidents/", {"title": title, "description": "On the train."}, format="json"
    )

    assert response.status_code == 400, response.content
    assert "invisible" in str(response.json()["title"])
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_an_incident_title_with_an_override_in_the_form_is_a_form_error(client, requester):
    client.force_login(requester)

    response = client.post(
        reverse("incidents:report"), {"title": RLO_TITLE, "description": "On the train."}
    )

    assert response.status_code == 400
    assert "U+202E" in str(response.context["form"].errors["title"])
    assert not Incident.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "title",
    [
        "Rapport om \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        "Laptop \U0001f469\u200d\U0001f4bb lost",
    ],
    ids=["persian-zwnj", "emoji-zwj"],
)
def test_joiners_inside_a_word_are_kept(api_client, requester, title):
    api_client.force_authenticate(requester)

    response = api_client.post(
        "/api/incidents/", {"title": title, "description": "On the train."}, format="json"
    )

    assert response.status_code == 201, response.content
    assert Incident.objects.get().title == title


@pytest.mark.django_db
def test_a_sharing_recipient_with_a_zero_width_space_is_refused_naming_it(requester, owner):
    from consent.models import SharingRequest
    from tests.consent.test_sharing import share

    asset = DataAssetFactory(owner=owner, customers=2, categories=["user.contact.email"])

    with pytest.raises(ApplicationError) as refusal:
        share(requester, asset, recipient="Nordic\u200b Logistics AS")

    assert refusal.value.field == "recipient"
    assert not SharingRequest.objects.exists()
