"""The catalogue, an asset's page and a refused request read in Norwegian Bokmål when the
browser asks for it: the sentences of the catalogue, the classes, and numbers and dates in
the Norwegian format (1 200, 30.11.2026)."""

import re

from django.urls import reverse

from customers.models.catalogue import Classification, DataAsset
from customers.services.assets import asset_classify, asset_create
from tests.customers.conftest import JUSTIFICATION
from tests.factories import DataAssetFactory

NB = {"HTTP_ACCEPT_LANGUAGE": "nb"}
# "1 200": Norwegian groups thousands with a space (a no-break space in Django's formats).
TWELVE_HUNDRED = re.compile(r"1[ \u00a0\u202f]200")
NORWEGIAN_DATE = re.compile(r"\b\d{2}\.\d{2}\.\d{4}\b")


def test_catalogue_speaks_norwegian_with_norwegian_numbers(client, outsider, owner):
    asset = DataAssetFactory(owner=owner, name="Nordic retail customers")
    DataAsset.objects.filter(pk=asset.pk).update(customer_count=1200)
    client.force_login(outsider)

    response = client.get(reverse("customers:asset_list"), **NB)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Katalog over kundeopplysninger" in page
    assert "Konfidensiell" in page and "ikke bekreftet" in page
    assert TWELVE_HUNDRED.search(page)
    assert "Customer data catalogue" not in page


def test_asset_page_and_its_history_speak_norwegian(client, owner, compliance_officer):
    asset = asset_create(actor=owner, name="Web leads", owner=owner)
    asset_classify(
        asset=asset,
        actor=compliance_officer,
        classification=Classification.INTERNAL,
        reason="Contact details only, no payment data.",
    )
    client.force_login(compliance_officer)

    response = client.get(reverse("customers:asset_detail", args=[asset.pk]), **NB)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Bekreft eller endre klassifiseringen" in page
    # The history: the fixed creation reason, stored in English, reads in Norwegian; the
    # change and the dates in Norwegian words and format.
    assert "Registrert i katalogen" in page
    assert "Klassifisering konfidensiell → intern" in page
    assert NORWEGIAN_DATE.search(page)
    assert "Registered in the catalogue" not in page


def test_refused_request_says_why_in_norwegian(client, requester, owner, email_marketing):
    asset = DataAssetFactory(owner=owner, name="Prospects", customers=3)
    client.force_login(requester)

    response = client.post(
        reverse("customers:request_create"),
        {
            "asset": asset.pk,
            "purpose": email_marketing.key,
            "justification": JUSTIFICATION,
            "level": "view",
            "duration_days": 30,
        },
        **NB,
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "Forespørselen er avslått" in page
    assert "Ingen av de 3 kundene i Prospects har samtykket til" in page
