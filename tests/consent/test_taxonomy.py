import pytest
from fideslang.default_taxonomy import DEFAULT_TAXONOMY

from consent.models import DataCategory, LawfulBasis, Purpose
from consent.taxonomy import load_default_taxonomy

pytestmark = pytest.mark.django_db


def test_every_fideslang_data_use_and_category_is_loaded():
    # The data migration loads it; nothing is typed by hand.
    assert set(Purpose.objects.values_list("key", flat=True)) == {
        use.fides_key for use in DEFAULT_TAXONOMY.data_use
    }
    assert set(DataCategory.objects.values_list("key", flat=True)) == {
        category.fides_key for category in DEFAULT_TAXONOMY.data_category
    }
    email = Purpose.objects.get(key="marketing.communications.email")
    assert email.parent.key == "marketing.communications"
    assert email.name == "Marketing Email Communications"


def test_loading_twice_changes_nothing():
    before = list(Purpose.objects.order_by("key").values())
    categories_before = list(DataCategory.objects.order_by("key").values())

    result = load_default_taxonomy()

    assert (result.purposes_created, result.categories_created, result.updated) == (0, 0, 0)
    assert list(Purpose.objects.order_by("key").values()) == before
    assert list(DataCategory.objects.order_by("key").values()) == categories_before


def test_loading_restores_a_deleted_entry_and_keeps_an_edited_lawful_basis():
    Purpose.objects.filter(key="train_ai_system").delete()
    Purpose.objects.filter(key="analytics").update(lawful_basis=LawfulBasis.LEGITIMATE_INTEREST)

    result = load_default_taxonomy()

    assert result.purposes_created == 1
    assert Purpose.objects.get(key="train_ai_system").lawful_basis == LawfulBasis.CONSENT
    assert Purpose.objects.get(key="analytics").lawful_basis == LawfulBasis.LEGITIMATE_INTEREST


@pytest.mark.parametrize(
    "key, basis",
    [
        ("essential", LawfulBasis.CONTRACT),
        ("essential.service.payment_processing", LawfulBasis.CONTRACT),
        ("essential.legal_obligation", LawfulBasis.LEGAL_OBLIGATION),
        ("marketing.communications.email", LawfulBasis.CONSENT),
        ("personalize.content", LawfulBasis.CONSENT),
        ("third_party_sharing", LawfulBasis.CONSENT),
        ("third_party_sharing.legal_obligation", LawfulBasis.CONSENT),
        ("train_ai_system", LawfulBasis.CONSENT),
        ("analytics.reporting", LawfulBasis.CONSENT),
    ],
)
def test_default_lawful_basis_follows_the_design(key, basis):
    assert Purpose.objects.get(key=key).lawful_basis == basis


def test_load_taxonomy_command_reports_what_it_did(capsys):
    from django.core.management import call_command

    call_command("load_taxonomy")

    assert "0 purposes and 0 data categories created" in capsys.readouterr().out
