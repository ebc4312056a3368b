"""The written reason a decision needs: one rule for services, one field for forms.

A compliance decision (a classification, an asset's owner or collection purposes, a
purpose's lawful basis, a data subject request's extension, an incident's handling, an
approval step's decision, a grant's revocation) and a written statement kept as evidence
(how a requester's identity was checked, how a sharing recipient was told of a withdrawal,
where its deletion confirmation is kept) is taken with a reason of at least a sentence,
``MIN_REASON_LENGTH`` characters: it is kept in the object's history and the audit trail,
where an auditor later reads why (GDPR Art. 5(2), accountability; Art. 30).

One rule differs on purpose: the business justification of an access or sharing request
(``customers.services.clean_justification``: 20 characters and four words) explains a need
to a person who must decide on it, not a decision already taken.
"""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.errors import ApplicationError
from portal.input_limits import one_line

# "At least a sentence" in characters: "Per DPA 12" passes, "ok" or "fixed" does not.
MIN_REASON_LENGTH = 10
REASON_MAX_LENGTH = 2000
# The business justification of an access or sharing request: "at least a sentence" of
# design.md, as words a reader can weigh, not a repeated character. Stricter than a
# decision's reason on purpose: it explains a need to the people who must decide on it.
MIN_JUSTIFICATION_LENGTH = 20
MIN_JUSTIFICATION_WORDS = 4


def reason_message(what: str = "", *, kept_in: str = "") -> str:
    """``Give <what> (a sentence, at least 10 characters).``, or ending ``; it is kept in
    <kept_in> and the audit trail.`` when ``kept_in`` names where. ``what`` ("the reason for
    this change" when empty) and ``kept_in`` are phrases in the active language (callers
    mark them for translation)."""
    values = {
        "what": what or _("the reason for this change"),
        "count": MIN_REASON_LENGTH,
        "kept_in": kept_in,
    }
    if kept_in:
        return (
            _(
                "Give %(what)s (a sentence, at least %(count)s characters); it is kept in "
                "%(kept_in)s and the audit trail."
            )
            % values
        )
    return _("Give %(what)s (a sentence, at least %(count)s characters).") % values


def clean_reason(
    text: str | None,
    *,
    field: str = "reason",
    what: str = "",
    kept_in: str = "",
    message: str = "",
) -> str:
    """The reason ``text`` stripped of surrounding white space (``None`` counts as "");
    line breaks inside stay (pass ``input_limits.one_line(text)`` for a one-line note).

    Raises ``ApplicationError`` naming ``field`` when it is shorter than
    ``MIN_REASON_LENGTH`` characters, with ``message`` or else ``reason_message(what,
    kept_in=kept_in)``. Pass ``message`` for a written statement whose message is not "Give
    <what>" (an identity check, a deletion confirmation); it should state the minimum."""
    text = (text or "").strip()
    if len(text) < MIN_REASON_LENGTH:
        raise ApplicationError(message or reason_message(what, kept_in=kept_in), field=field)
    return text


def reason_field(help_text: str, *, rows: int = 3) -> forms.CharField:
    """The form field of a written reason, labelled "Reason" in the reader's language: a
    text area of ``rows`` rows, at most
    ``REASON_MAX_LENGTH`` characters; ``help_text`` says where it is kept. The minimum
    length is the service's (``clean_reason``), so every door gives the same message."""
    return forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": rows}),
        max_length=REASON_MAX_LENGTH,
        help_text=help_text,
    )


def clean_justification(text: str | None) -> str:
    """The business justification of an access or sharing request, white space runs
    collapsed to one space (``None`` counts as "").

    Raises ``ApplicationError`` on field ``justification`` unless it is at least a sentence
    of real text: ``MIN_JUSTIFICATION_LENGTH`` characters, ``MIN_JUSTIFICATION_WORDS`` words
    and five different letters or digits (design.md, access requests point 1; sharing asks
    the same)."""
    text = one_line(text)
    letters = [ch for ch in text.lower() if ch.isalnum()]
    if (
        len(text) < MIN_JUSTIFICATION_LENGTH
        or len(text.split()) < MIN_JUSTIFICATION_WORDS
        or len(set(letters)) < 5
    ):
        raise ApplicationError(
            _(
                "Explain the business need in at least a sentence (%(characters)s "
                "characters, %(words)s words)."
            )
            % {"characters": MIN_JUSTIFICATION_LENGTH, "words": MIN_JUSTIFICATION_WORDS},
            field="justification",
        )
    return text
