"""The approvals page's cards (``{% approval_card %}``): every value escaped once, the
messages' own markup kept, for access and external sharing requests."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from django.utils import translation

from customers.selectors.grants import NO_OTHER_GRANTS, OtherGrant, OtherGrants
from customers.templatetags.approval_cards import approval_card
from portal.approval_rows import PersonRow, StepRow, StepRows

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
        "get_absolute_url": lambda: "/requests/7/",
    }
    return SimpleNamespace(**{**values, **fields})


def waiting(kind, request):
    """The approvals list's row: the open step and the request (which gives the card its
    link)."""
    step = SimpleNamespace(chain=SimpleNamespace(kind=kind))
    return SimpleNamespace(kind=kind, request=request, step=step)


def test_an_access_card_escapes_every_value_once_and_keeps_the_messages_markup():
    access = request(duration_days=1, get_level_display=lambda: "Export CSV")
    with translation.override("en-gb"):
        html = str(approval_card(waiting("access", access), NO_OTHER_GRANTS))

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
        get_absolute_url=lambda: "/sharing/7/",
    )
    with translation.override("nb"):
        html = str(approval_card(waiting("sharing", sharing), NO_OTHER_GRANTS))

    assert '<article class="card mb-3 border-warning">' in html
    assert '<a href="/sharing/7/">List ' + ESCAPED + " til Partner " + ESCAPED + " (NO)" in html
    assert "<strong>Eve " + ESCAPED + "</strong>" in html
    assert "DPA " + ESCAPED + " (til 31.01.2027)" in html
    assert '<span class="taxonomy-name">' in html  # the category's label, safe HTML kept
    assert MARKUP not in html and "&amp;lt;" not in html


def test_cards_read_in_turn_in_english_and_norwegian_each_speak_their_readers_language():
    # The messages, role and status labels every card repeats are remembered per language
    # (portal.languages.per_language): one reader's language never leaks into the next card.
    steps = StepRows(
        (
            StepRow(
                position=1,
                role="owner",
                status="approved",
                replaces_owner=True,
                approver=None,
                decided_by=PersonRow("bob", "Bob", "Berg"),
                decided_at=datetime(2026, 11, 27, 9, tzinfo=UTC),
                reason="",
                requirement="",
                inputs={},
            ),
        )
    )
    access = request(duration_days=2, get_level_display=lambda: "View")
    access.chain.steps = steps
    grants = OtherGrants(
        (OtherGrant("Retail", "marketing.communications.email", datetime(2027, 1, 5, tzinfo=UTC)),),
        1,
    )
    row = waiting("access", access)

    cards = {}
    for language in ("en-gb", "nb", "en-gb", "nb"):
        with translation.override(language):
            cards.setdefault(language, set()).add(str(approval_card(row, grants)))

    assert all(len(texts) == 1 for texts in cards.values())  # the same card each time
    english, norwegian = cards["en-gb"].pop(), cards["nb"].pop()
    assert "Other active grants of Eve" in english and "(in place of the owner)" in english
    assert "Data owner" in english and "Approved" in english and "until 5 Jan 2027" in english
    assert "Andre aktive tilganger Eve" in norwegian and "(i stedet for eieren)" in norwegian
    assert "Godkjent" in norwegian and "på e-post, til 05.01.2027" in norwegian
    for english_text in ("Other active grants", "in place of the owner", "Approved", "until"):
        assert english_text not in norwegian


def test_a_card_links_to_its_requests_page():
    # The request's own address, the one its chain is published with (``chain_publish``),
    # so a card read before its chain has one links to the same page.
    access = request(duration_days=1, get_level_display=lambda: "View")
    access.get_absolute_url = lambda: "/requests/9/"
    with translation.override("en-gb"):
        html = str(approval_card(waiting("access", access), NO_OTHER_GRANTS))
    assert '<a href="/requests/9/">List ' in html
