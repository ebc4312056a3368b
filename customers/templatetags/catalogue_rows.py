"""The rows of the catalogue page: one per data asset.

``{% load catalogue_rows %}`` then ``{% catalogue_row asset %}`` with a ``CatalogueRow``
(``customers.selectors.catalogue``): the asset's name linking to its page and the start of
its description, its owner linking to the owner's assets, its classification (and whether
compliance confirmed it), its data categories and how many customers it holds.

Written in Python rather than as a template, for the reason and in the way of
``approval_cards``: 25 rows a page, and the template engine spent most of the catalogue's
time on them. The same messages (their translations unchanged), every value escaped, the
numbers localised as a template variable is.
"""

import unicodedata

from django import template
from django.utils import formats
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext

from consent.templatetags.taxonomy import category_label
from customers.models.catalogue import DataAsset
from customers.selectors.catalogue import CatalogueRow
from portal.languages import reads_language_once
from portal.paths import object_path

register = template.Library()

DESCRIPTION_CHARACTERS = 90


@register.simple_tag
@reads_language_once
def catalogue_row(asset: CatalogueRow) -> SafeString:
    """``asset`` (a ``CatalogueRow``) as a ``<tr>`` of five cells, in the active language,
    every value escaped."""
    link = object_path("customers:asset_detail", asset.pk)
    description = description_start(asset.description)
    owner = conditional_escape(asset.owner)
    owner_title = gettext("Every asset of %(owner)s") % {"owner": owner}
    if asset.data_category_keys:
        categories = ", ".join(
            conditional_escape(category_label(key)) for key in asset.data_category_keys
        )
    else:
        none = conditional_escape(gettext("none recorded"))
        categories = f'<span class="text-muted">{none}</span>'
    return mark_safe(
        "\n    <tr>\n"
        f'      <td><a href="{link}">{conditional_escape(asset.name)}</a>'
        f'<div class="small text-muted">{conditional_escape(description)}</div></td>\n'
        f'      <td><a href="?owner={asset.owner_id}" title="{owner_title}">{owner}</a></td>\n'
        f"      <td>{classification_badges(asset)}</td>\n"
        f'      <td class="small">{categories}</td>\n'
        f'      <td class="text-end">{formats.localize(asset.customer_count)}</td>\n'
        "    </tr>\n  "
    )


def description_start(text: str) -> str:
    """The start of a description as a row shows it: ``Truncator(text).chars(90)``, the
    text itself (composed, NFC) when it is no longer than that, without building the
    ``Truncator`` (a lazy object, about 16 µs a row) whose count would come to the same."""
    text = unicodedata.normalize("NFC", text)
    if len(text) <= DESCRIPTION_CHARACTERS:
        return text
    return Truncator(text).chars(DESCRIPTION_CHARACTERS)


@register.simple_tag
def classification_badges(asset: CatalogueRow | DataAsset) -> SafeString:
    """The classification badge of ``asset`` (a catalogue row or a ``DataAsset``), and the
    "unconfirmed" one until compliance confirms it, escaped, in the active language: the
    catalogue's rows and the asset's own page (``{% classification_badges asset %}``) write
    them alike; a classification outside ``Classification`` reads as it is stored, as
    Django's ``get_classification_display`` gives it."""
    label = conditional_escape(asset.get_classification_display())
    kind = conditional_escape(asset.classification)
    html = f'<span class="badge badge-classification-{kind}">{label}</span>\n'
    if not asset.classification_confirmed:
        title = conditional_escape(
            gettext("Treated as at least confidential until a compliance officer confirms it")
        )
        unconfirmed = conditional_escape(gettext("unconfirmed"))
        html += f'<span class="badge text-bg-warning" title="{title}">{unconfirmed}</span>'
    return mark_safe(html + "\n")
