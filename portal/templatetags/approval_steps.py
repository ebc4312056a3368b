"""An approval chain's steps as the request pages list them: who decides each step, its
status as a coloured badge, and who decided it when (with their reason where asked).

``{% load approval_steps %}`` then ``{% approval_steps r.chain.steps.all %}``, or
``{% approval_steps steps show_reasons=True %}`` on a request's own page. The steps are
``ApprovalStep`` models or ``portal.approval_rows.StepRow`` rows (the lists read plain
values); both answer the same names.

Written in Python rather than as an included template: "My requests" and the approvals page
list 25 requests of three steps or more, and the template engine spent about a quarter of
those pages' time on them (the same HTML, one node at a time). Every text is translated as
the template's were, in the active language, and every date is in the reader's time zone.
"""

from collections.abc import Iterable
from html import escape
from typing import Any

from django import template
from django.utils import formats
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from portal.display import datetime_text
from portal.languages import per_language, reads_language_once

register = template.Library()

# Bootstrap's badge colour for each step status; any other status is grey.
BADGE = {"approved": "text-bg-success", "denied": "text-bg-danger", "open": "text-bg-primary"}


@register.simple_tag
@reads_language_once
def approval_steps(steps: Iterable[Any], show_reasons: bool = False) -> SafeString:
    """``steps`` (in order) as an HTML ``<ol>``, every value escaped: per step the status
    badge, "position. role" (and "(in place of the owner)" where compliance stands in), the
    approver named for the step, then who decided it and when (``DATETIME_FORMAT`` in the
    active time zone), with their quoted reason when ``show_reasons``.

    Every value goes through ``html.escape`` (what Django's ``escape`` calls, without its
    lazy-text wrapper, which cost more than the escaping), the markup is this module's own.
    """
    items = "".join(_step(step, show_reasons) for step in steps)
    return mark_safe(f'<ol class="list-unstyled mb-0">\n{items}\n</ol>\n')


def _step(step: Any, show_reasons: bool) -> str:
    who = f"{escape(formats.localize(step.position))}. {escape(str(step.get_role_display()))}"
    if step.replaces_owner:
        who += " " + _in_place_of_owner()
    if step.approver:
        who += f": {escape(str(step.approver))}"
    badge = BADGE.get(step.status, "text-bg-secondary")
    status = escape(str(step.get_status_display()))
    decision = _decision(step, show_reasons) if step.decided_by else ""
    return (
        f'\n  <li class="mb-1">\n    <span class="badge {badge}">{status}</span>\n'
        f"    {who}\n    {decision}\n  </li>\n"
    )


# A text every list of steps repeats, escaped, once per language (``per_language``).
@per_language
def _in_place_of_owner() -> str:
    return escape(gettext("(in place of the owner)"))


def _decision(step: Any, show_reasons: bool) -> str:
    when = datetime_text(step.decided_at) if step.decided_at else ""
    reason = f": “{escape(step.reason)}”" if show_reasons else ""
    return (
        f'<span class="text-muted small">— {escape(str(step.decided_by))}, '
        f"{escape(when)}{reason}</span>"
    )
