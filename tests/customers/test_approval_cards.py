"""The approvals page's cards (``{% approval_card %}``): every value escaped once, the
messages' own markup kept, for access and external sharing requests."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from django.utils import translation

from customers.selectors.grants import NO_OTHER_GRANTS
from customers.templatetags.approval_cards import approval_card
from portal.approval_rows import PersonRow, StepRows

MARKUP = "<b>&'\""
ESCAPED = "&lt;b&gt;&amp;&#x27;&quot;"

pytestmark = pytest.mark.django_db  # purpose and category names come from the taxonomy


def request(**fields):
    chain = SimpleNamespace(summary=f"4 of 10 {MARKUP}", steps=StepRows(()))
    values = {
        "pk": 7,
        "asset": SimpleNamespace(name=f"List {MARKUP}"),
        "purpose": "marketing.communications.email",
        "requester": PersonRow("eve", "Eve", MARKUP),
        "justification": f"Because {MARKUP}",
        "created_at": datetime(2026, 11, 27, tzinfo=UTC),
        "chain": chain,
    }
    return SimpleNamespace(**{**values, **fields})


def test_an_access_card_escapes_every_value_once_and_keeps_the_messages_markup():
    access = request(duration_days=1, get_level_display=lambda: "Export CSV")
    with translation.override("en-gb"):
        html = str(approval_card(SimpleNamespace(kind="access", request=access), NO_OTHER_GRANTS))

    assert '<a href="/requests/7/">List ' + ESCAPED + " for " in html
    assert "<strong>Eve " + ESCAPED + "</strong> asks for export csv for 1 day," in html
    assert "<strong>4 of 10 " + ESCAPED + "</strong> (at the time of the request)." in html
    assert "Because " + ESCAPED + "</blockquote>" in html
    assert "Other active grants of Eve " + ESCAPED + ": none" in html
    assert MARKUP not in html and "&amp;lt;" not in html  # never raw, never twice


def test_a_sharing_card_escapes_recipient_agreement_and_categories_in_norwegian():
    sharing = request(
        recipient=f"Partner {MARKUP}",
        recipient_country="NO",
        agreement_reference=f"DPA {MARKUP}",
        agreement_end=date(2027, 1, 31),
        categories=SimpleNamespace(all=lambda: ["user.contact.email"]),
    )
    with translation.override("nb"):
        html = str(approval_card(SimpleNamespace(kind="sharing", request=sharing), NO_OTHER_GRANTS))

    assert '<article class="card mb-3 border-warning">' in html
    assert '<a href="/sharing/7/">List ' + ESCAPED + " til Partner " + ESCAPED + " (NO)" in html
    assert "<strong>Eve " + ESCAPED + "</strong>" in html
    assert "DPA " + ESCAPED + " (til 31.01.2027)" in html
    assert '<span class="taxonomy-name">' in html  # the category's label, safe HTML kept
    assert MARKUP not in html and "&amp;lt;" not in html
