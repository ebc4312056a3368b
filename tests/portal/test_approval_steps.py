"""The approval steps as every request page lists them (``{% approval_steps %}``)."""

from datetime import UTC, datetime

from django.utils import timezone, translation

from portal.approval_rows import PersonRow, StepRow
from portal.templatetags.approval_steps import approval_steps


def step(position, role, status, **fields):
    values = {
        "replaces_owner": False,
        "approver": None,
        "decided_by": None,
        "decided_at": None,
        "reason": "",
        "requirement": "",
        "inputs": {},
    }
    return StepRow(position=position, role=role, status=status, **{**values, **fields})


OWNER = PersonRow("eva", "Eva", "<Berg>")
OFFICER = PersonRow("olivia", "Olivia", "O'Neil")
# 23:30 UTC on 30 November is 00:30 on 1 December in Oslo.
LATE = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
CHAIN = [
    step(1, "owner", "approved", approver=OWNER, decided_by=OWNER, decided_at=LATE, reason="ok"),
    step(
        2,
        "compliance",
        "denied",
        replaces_owner=True,
        decided_by=OFFICER,
        decided_at=LATE,
        reason='No "marketing" consent <here>',
    ),
    step(3, "legal", "open"),
    step(4, "legal", "waiting"),
]


def test_each_step_shows_its_badge_role_approver_and_decision_escaped():
    with translation.override("en-gb"), timezone.override("UTC"):
        html = str(approval_steps(CHAIN))

    assert html.startswith('<ol class="list-unstyled mb-0">')
    assert '<span class="badge text-bg-success">Approved</span>' in html
    assert "1. Data owner: Eva &lt;Berg&gt;" in html
    assert "— Eva &lt;Berg&gt;, 30 Nov 2026 23:30 UTC</span>" in html
    assert '<span class="badge text-bg-danger">Denied</span>' in html
    assert "2. Compliance (in place of the owner)\n" in html
    assert "— Olivia O&#x27;Neil, 30 Nov 2026 23:30 UTC</span>" in html
    assert '<span class="badge text-bg-primary">Waiting for a decision</span>' in html
    assert '<span class="badge text-bg-secondary">Not yet reached</span>' in html
    # Reasons are shown on a request's own page only.
    assert "marketing" not in html


def test_reasons_are_quoted_and_escaped_where_asked():
    with translation.override("en-gb"), timezone.override("UTC"):
        html = str(approval_steps(CHAIN, show_reasons=True))

    assert ", 30 Nov 2026 23:30 UTC: “ok”</span>" in html
    assert ": “No &quot;marketing&quot; consent &lt;here&gt;”</span>" in html


def test_the_steps_read_in_the_readers_language_and_time_zone():
    with translation.override("nb"), timezone.override("Europe/Oslo"):
        html = str(approval_steps(CHAIN))

    assert '<span class="badge text-bg-success">Godkjent</span>' in html
    assert "1. Dataeier: Eva &lt;Berg&gt;" in html
    assert "— Eva &lt;Berg&gt;, 01.12.2026 00:30 CET</span>" in html
    assert "2. Compliance (i stedet for eieren)" in html
    assert "Venter på avgjørelse" in html
    assert "Ikke nådd ennå" in html


def test_no_steps_is_an_empty_list():
    assert str(approval_steps([])) == '<ol class="list-unstyled mb-0">\n\n</ol>\n'
