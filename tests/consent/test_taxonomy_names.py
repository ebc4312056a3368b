"""Purposes and data categories by name: the name first, the key small beside it, grouped in
the forms, the purposes that fit the asset first.

consent/taxonomy_names.py (the per-process map), consent/templatetags/taxonomy.py (pages),
consent/taxonomy_choices.py (forms)."""

import re

import pytest
from django.template import Context, Template
from django.urls import reverse

from consent import taxonomy_names
from consent.models import Purpose
from consent.selectors import suggested_purpose_keys
from consent.taxonomy_choices import SUGGESTED
from customers.models.access import AccessRequest
from tests.consent.conftest import at
from tests.customers.conftest import consent
from tests.factories import CustomerFactory, DataAssetFactory
from tests.portal.test_admin_audit import form_data

EMAIL = "marketing.communications.email"
EMAIL_NAME = "Marketing Email Communications"


def render(source: str, **context) -> str:
    return Template("{% load taxonomy %}" + source).render(Context(context))


def optgroups(html: str, select_name: str) -> list[tuple[str, list[str]]]:
    """``[(group label, [option values])]`` of the select ``select_name`` in ``html``."""
    select = re.search(rf'<select name="{select_name}".*?</select>', html, re.S).group(0)
    return [
        (label, re.findall(r'<option value="([^"]*)"', body))
        for label, body in re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', select, re.S)
    ]


@pytest.mark.django_db
def test_a_key_reads_as_its_name_with_the_key_small_beside_it():
    html = render("{{ key|purpose_label }}", key=EMAIL)
    assert html == (
        f'<span class="taxonomy-name">{EMAIL_NAME}</span> '
        f'<small class="taxonomy-key text-body-secondary"><code>{EMAIL}</code></small>'
    )
    assert "User Contact Email" in render("{{ 'user.contact.email'|category_label }}")
    assert render("{{ p|purpose_name }}", p=Purpose.objects.get(key=EMAIL)) == EMAIL_NAME


@pytest.mark.django_db
def test_a_key_the_taxonomy_lacks_is_printed_as_it_is_and_escaped():
    html = render("{{ key|purpose_label }}", key="no.such<key>")
    assert html == (
        '<small class="taxonomy-key text-body-secondary"><code>no.such&lt;key&gt;</code></small>'
    )
    assert render("{{ key|purpose_label }}", key="") == ""


@pytest.mark.django_db
def test_names_of_bare_keys_cost_one_query_per_process_not_one_per_row(
    django_assert_num_queries,
):
    keys = list(Purpose.objects.values_list("key", flat=True))
    source = "{% for key in keys %}{{ key|purpose_label }}{% endfor %}"
    with django_assert_num_queries(1):
        first = render(source, keys=keys)
    with django_assert_num_queries(0):
        assert render(source, keys=keys) == first
    assert first.count('class="taxonomy-name"') == len(keys) == 56


@pytest.mark.django_db
def test_a_name_edited_in_the_admin_shows_at_once_on_the_pages(
    client, django_capture_on_commit_callbacks
):
    from tests.factories import UserFactory

    render("{{ key|purpose_label }}", key=EMAIL)  # the map is loaded
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    purpose = Purpose.objects.get(key=EMAIL)
    path = f"/admin/consent/purpose/{purpose.pk}/change/"
    data = form_data(client, path)
    data["name"] = "E-mail newsletters"
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(path, data).status_code == 302
    assert "E-mail newsletters</span>" in render("{{ key|purpose_label }}", key=EMAIL)


@pytest.mark.django_db
def test_another_process_reloads_the_names_once_the_shared_generation_moved(monkeypatch):
    render("{{ key|purpose_label }}", key=EMAIL)
    # Another process saved a new name: the database and the shared generation changed,
    # this process's map did not.
    Purpose.objects.filter(key=EMAIL).update(name="Renamed elsewhere")
    from django.core.cache import cache

    cache.set(taxonomy_names.GENERATION_KEY, 1, timeout=None)
    assert EMAIL_NAME in render("{{ key|purpose_label }}", key=EMAIL)  # trusted for a while
    monkeypatch.setattr(taxonomy_names, "CHECK_SECONDS", 0.0)
    assert "Renamed elsewhere" in render("{{ key|purpose_label }}", key=EMAIL)


def asset_with_consents(owner, *, customers: int = 3):
    """Collected for essential.service; one customer agreed to e-mail marketing, one agreed
    to third-party sharing and withdrew it."""
    people = CustomerFactory.create_batch(customers)
    asset = DataAssetFactory(
        owner=owner,
        name="Retail list",
        customers=people,
        collected_for=["essential.service"],
        categories=["user.contact.email", "user.name"],
    )
    consent(people[:1])
    consent(people[1:2], key="third_party_sharing", when=at(1))
    consent(people[1:2], key="third_party_sharing", status="withdrawn", when=at(2))
    return asset


def test_the_suggestions_are_what_the_asset_was_collected_for_and_what_its_customers_agree_to(
    owner,
):
    asset = asset_with_consents(owner)
    assert suggested_purpose_keys(asset) == {"essential.service", EMAIL}
    # Consent of a customer of another asset is not a suggestion for this one.
    other = DataAssetFactory(owner=owner, customers=1)
    consent(other.customers.all(), key="personalize")
    assert suggested_purpose_keys(asset) == {"essential.service", EMAIL}


def test_the_request_form_offers_purposes_by_name_the_assets_own_first_then_by_group(
    client, requester, owner
):
    asset = asset_with_consents(owner)
    client.force_login(requester)

    html = client.get(reverse("customers:request_create"), {"asset": asset.pk}).content.decode()

    groups = optgroups(html, "purpose")
    assert groups[0] == (SUGGESTED, ["essential.service", EMAIL])
    labels = [label for label, _values in groups]
    assert labels[1:4] == ["Analytics", "Collect", "Employment"]
    marketing = dict(groups)["Marketing"]
    assert marketing[0] == "marketing" and EMAIL not in marketing  # offered once, above
    assert f'<option value="{EMAIL}">{EMAIL_NAME} ({EMAIL})</option>' in html
    # Every active purpose is offered exactly once.
    offered = [value for _label, values in groups for value in values]
    assert sorted(offered) == sorted(
        Purpose.objects.filter(active=True).values_list("key", flat=True)
    )


def test_without_a_chosen_asset_nothing_is_suggested_and_the_key_is_still_what_is_sent(
    client, requester, owner
):
    asset = asset_with_consents(owner)
    client.force_login(requester)
    html = client.get(reverse("customers:request_create")).content.decode()
    assert SUGGESTED not in [label for label, _values in optgroups(html, "purpose")]
    assert optgroups(html, "purpose")[0][0] == "Analytics"

    response = client.post(
        reverse("customers:request_create"),
        {
            "asset": asset.pk,
            "purpose": EMAIL,
            "justification": "Spring newsletter to the customers who agreed by e-mail.",
            "level": "view",
            "duration_days": 30,
        },
    )
    assert response.status_code == 302
    assert AccessRequest.objects.get(asset=asset).purpose.key == EMAIL


@pytest.mark.parametrize("customers", [3, 60])
def test_the_request_form_with_suggestions_costs_the_same_queries_whatever_the_asset_size(
    client, requester, owner, customers, django_assert_num_queries
):
    asset = asset_with_consents(owner, customers=customers)
    client.force_login(requester)
    url = reverse("customers:request_create")
    client.get(url, {"asset": asset.pk})  # the session and the process's maps are warm
    with django_assert_num_queries(QUERIES_REQUEST_FORM):
        assert client.get(url, {"asset": asset.pk}).status_code == 200


# The request form for a chosen asset: session and user, the asset list, the chosen asset,
# the suggestions (one query), the purposes, and the page's own (the inbox count...).
QUERIES_REQUEST_FORM = 8


def test_the_sharing_form_suggests_purposes_and_names_the_categories(client, requester, owner):
    asset = asset_with_consents(owner)
    client.force_login(requester)

    html = client.get(reverse("consent:sharing_create"), {"asset": asset.pk}).content.decode()

    assert optgroups(html, "purpose")[0] == (SUGGESTED, ["essential.service", EMAIL])
    assert re.search(
        r'value="user\.contact\.email"[^>]*>\s*<label[^>]*>\s*'
        r"User Contact Email \(user\.contact\.email\)",
        html,
    )


def test_the_catalogue_filters_data_categories_by_name_grouped(client, requester):
    client.force_login(requester)
    html = client.get(reverse("customers:asset_list")).content.decode()
    groups = dict(optgroups(html, "category"))
    assert list(groups) == ["System Data", "User Data"]
    assert "user.contact.email" in groups["User Data"]
    assert "User Contact Email (user.contact.email)</option>" in html
