"""``stored_text``: a timeline line or alert summary the portal wrote earlier, in the
reader's language.

Lines with values are written in the language active when they were stored, which for the
beat jobs and the demo seed is English. Shown to a reader of another language, an English
line that matches one of the messages below is translated again, its values (a duty's name,
a nested sentence) with it; any other text goes through the catalogue as it is (the fixed
lines stored with ``gettext_noop``), so a person's own note is shown as typed.
"""

import re
from functools import cache

from django import template
from django.utils.translation import get_language, gettext, gettext_noop, ngettext

register = template.Library()

# The stored messages with values (English msgids): (singular, plural or None).
MESSAGES: tuple[tuple[str, str | None], ...] = (
    (
        gettext_noop("Compliance and Legal notified (%(count)s person)."),
        gettext_noop("Compliance and Legal notified (%(count)s people)."),
    ),
    (
        gettext_noop(
            "Escalation %(level)s: not acknowledged after %(minutes)s minutes; "
            "Compliance and Legal notified again (%(count)s person)."
        ),
        gettext_noop(
            "Escalation %(level)s: not acknowledged after %(minutes)s minutes; "
            "Compliance and Legal notified again (%(count)s people)."
        ),
    ),
    (
        gettext_noop("Reminder: %(duty)s due in %(hours)s hour; %(notified)s"),
        gettext_noop("Reminder: %(duty)s due in %(hours)s hours; %(notified)s"),
    ),
    (gettext_noop("Overdue: %(duty)s, %(hours)s hours late; %(notified)s"), None),
    (gettext_noop("%(regime)s applies: %(duties)s"), None),
    (gettext_noop("%(duty)s due %(moment)s"), None),
    (gettext_noop("Reported by %(person)s"), None),
    (gettext_noop("Acknowledged by %(person)s; assigned to %(assignee)s."), None),
    (gettext_noop("Personal-data breach: yes. %(reason)s"), None),
    (gettext_noop("Not a personal-data breach. %(reason)s"), None),
    (gettext_noop("Proposed: unlikely to result in a risk. %(reason)s"), None),
    (gettext_noop("Awareness set to %(moment)s: %(reason)s"), None),
    (
        gettext_noop("%(count)s requests refused or denied within %(days)s day"),
        gettext_noop("%(count)s requests refused or denied within %(days)s days"),
    ),
    (gettext_noop("%(rows)s rows exported on %(day)s (usual day: %(usual)s)"), None),
    (gettext_noop("Holds grants on %(count)s assets for %(purpose)s"), None),
    (gettext_noop("Records read through grant %(grant)s, revoked before"), None),
)
# Sentences that may open part of a joined line, followed by a value (triage).
IN_LINE = (
    gettext_noop("Personal-data breach: yes. %(reason)s"),
    gettext_noop("Not a personal-data breach. %(reason)s"),
)
# Values that are themselves stored sentences or names, translated in turn.
NESTED = {"duty", "regime", "duties", "notified"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@cache
def _patterns() -> list[tuple[re.Pattern[str], str, str | None, bool]]:
    patterns = []
    for singular, plural in MESSAGES:
        for form, is_plural in ((singular, False), (plural, True)):
            if form is None:
                continue
            pieces = _PLACEHOLDER.split(form)
            regex = "".join(
                re.escape(piece) if index % 2 == 0 else f"(?P<{piece}>.+?)"
                for index, piece in enumerate(pieces)
            )
            patterns.append((re.compile(regex, re.DOTALL), singular, plural, is_plural))
    return patterns


def translated(text: str) -> str:
    """``text`` (a stored English line) in the active language; see the module."""
    fixed = gettext(text)
    if fixed != text:
        return fixed
    for pattern, singular, plural, is_plural in _patterns():
        found = pattern.fullmatch(text)
        if found is None:
            continue
        values = {
            name: (_nested(value) if name in NESTED else value)
            for name, value in found.groupdict().items()
        }
        message = ngettext(singular, plural, 2 if is_plural else 1) if plural else gettext(singular)
        return message % values
    # A triage line joins one sentence per change ("Severity … Personal-data breach: yes.
    # <reason> Status …"): its sentences that open with words are translated in place.
    for msgid in IN_LINE:
        english, translation = msgid.split("%(")[0], gettext(msgid).split("%(")[0]
        text = text.replace(english, translation)
    return text


def _nested(value: str) -> str:
    return "; ".join(translated(part) for part in value.split("; "))


@register.filter
def stored_text(text: str) -> str:
    """A stored timeline line or alert summary as the reader reads it."""
    if not text or (get_language() or "en").startswith("en"):
        return text
    return translated(str(text))
