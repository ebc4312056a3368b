"""The taxonomy's names reach the gettext catalogue through a generated module; a name is
translated where a page shows it, and an operator's edit reads as typed."""

import pytest
from django.utils import translation
from fideslang.default_taxonomy import DEFAULT_TAXONOMY

from consent import taxonomy_messages
from consent.taxonomy import TAXONOMY_MESSAGES_PATH, taxonomy_messages_source
from consent.taxonomy_names import CATEGORY, PURPOSE, display_name


def test_the_generated_module_is_what_the_installed_taxonomy_gives():
    # Upgrading fideslang changes names: `manage.py taxonomy_messages`, then `make messages`.
    assert TAXONOMY_MESSAGES_PATH.read_text(encoding="utf-8") == taxonomy_messages_source()


def test_every_purpose_and_category_name_is_marked_with_its_context():
    with translation.override(None):  # the msgids themselves
        purposes = {key: str(name) for key, name in taxonomy_messages.PURPOSE_NAMES.items()}
        categories = {key: str(name) for key, name in taxonomy_messages.CATEGORY_NAMES.items()}
    assert purposes == {use.fides_key: use.name for use in DEFAULT_TAXONOMY.data_use}
    assert categories == {c.fides_key: c.name for c in DEFAULT_TAXONOMY.data_category}


def test_each_name_is_marked_in_the_context_the_pages_translate_it_in():
    with translation.override("nb"):
        for names, kind in (
            (taxonomy_messages.PURPOSE_NAMES, PURPOSE),
            (taxonomy_messages.CATEGORY_NAMES, CATEGORY),
        ):
            for key, name in names.items():
                with translation.override(None):
                    english = str(name)
                assert display_name(kind, english) == str(name), key
                assert str(name) != english or english in SAME_IN_NORWEGIAN, key


# Names a Norwegian reader reads as they are.
SAME_IN_NORWEGIAN = {"Religion"}


@pytest.mark.parametrize("kind", [PURPOSE, CATEGORY])
def test_a_name_the_catalogue_lacks_reads_as_stored(kind):
    with translation.override("nb"):
        assert display_name(kind, "Loyalty club newsletter") == "Loyalty club newsletter"
        assert display_name(kind, "") == ""
