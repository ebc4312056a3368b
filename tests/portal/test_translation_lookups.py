"""The translations flattened at start-up give every text exactly as Django's own
merge of the same catalogues does, and look a text up in one dictionary."""

import pytest
from django.utils import translation
from django.utils.translation import trans_real

from portal.languages import flatten_translations, language_codes


def every_key(translation_object) -> set:
    keys, link = set(), translation_object
    while link is not None:
        keys |= set(link._catalog.keys())
        link = link._fallback
    return keys


@pytest.mark.parametrize("code", language_codes())
def test_every_text_and_plural_reads_as_in_djangos_unflattened_translation(code):
    flatten_translations()
    flattened = trans_real.translation(code)
    # Built afresh, as Django builds it: nothing flattened.
    django_built = trans_real.DjangoTranslation(code)
    # Its nb fallback is the cached (flattened) English one: compare against a fresh one.
    if django_built._fallback is not None and code != "en-gb":
        django_built._fallback = trans_real.DjangoTranslation("en-gb")
    keys = every_key(django_built)
    assert len(keys) > 500  # the catalogues of Django and its apps, not an empty one

    for key in keys:
        if isinstance(key, tuple):  # a plural form: (msgid, form index)
            for n in (0, 1, 2, 5, 21, 101):
                assert flattened.ngettext(key[0], key[0] + "s", n) == django_built.ngettext(
                    key[0], key[0] + "s", n
                ), (key, n)
        elif key:
            assert flattened.gettext(key) == django_built.gettext(key), key


def test_a_text_without_translation_misses_one_dictionary_per_language():
    flatten_translations()
    english = trans_real.translation("en-gb")
    norwegian = trans_real.translation("nb")

    assert len(english._catalog._catalogs) == 1
    assert english._fallback is None
    assert len(norwegian._catalog._catalogs) == 1
    assert norwegian._fallback is english
    with translation.override("nb"):
        assert translation.gettext("No such text in any catalogue") == (
            "No such text in any catalogue"
        )
        assert translation.gettext("Approvals waiting for me") != "Approvals waiting for me"
