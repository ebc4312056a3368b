"""The cards of the approvals page: one per request waiting for the reader's decision.

``{% load approval_cards %}`` then ``{% approval_card waiting other_grants %}``, with a
``portal.approvals.WaitingApproval`` (an access request, or an external sharing request
with its recipient, agreement and data categories) and the requester's ``OtherGrants``.

Written in Python rather than as a template: a compliance officer's page holds 25 cards,
each of about ten translated sentences, links and dates, and the template engine spent
half of that page's time on them. The sentences are the same messages the template had
(their translations unchanged), each filled in as ``{% blocktranslate %}`` fills one: the
message may hold markup, every value in it is escaped unless it is already safe HTML
(the taxonomy labels).
"""

from typing import Any

from django import template
from django.utils import formats
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext, ngettext

from consent.templatetags.taxonomy import category_label, purpose_label
from customers.selectors.grants import OtherGrants
from customers.templatetags.access_grants import other_grants_text
from portal.approvals import WaitingApproval
from portal.languages import per_language, reads_language_once
from portal.templatetags.approval_steps import approval_steps

register = template.Library()


def _filled(message: str, **values: Any) -> str:
    # As {% blocktranslate %} fills a message: escaped values, the message's own markup kept.
    return message % {name: conditional_escape(value) for name, value in values.items()}


@register.simple_tag
@reads_language_once
def approval_card(waiting: WaitingApproval, grants: OtherGrants) -> SafeString:
    """The card of ``waiting`` as HTML: the request's title linking to its page, who asks
    for what and since when (``timesince``, in the active language), the summary of
    eligibility at the time of the request, the justification, the requester's other
    active grants (``other_grants_text``) and the chain's steps (``approval_steps``)."""
    request = waiting.request
    # The request's page, the address its chain was published with (``chain_publish``).
    link = request.get_absolute_url()
    if waiting.kind == "sharing":
        border, title, asks = " border-warning", *_sharing(request, link)
    else:
        border, title, asks = "", *_access(request, link)
    texts = _card_texts()
    summary = _filled(texts["summary"], summary=request.chain.summary)
    others = _filled(texts["others"], requester=request.requester)
    justification = conditional_escape(request.justification)
    return mark_safe(
        f'<article class="card mb-3{border}">\n  <div class="card-body">\n'
        f'    <h2 class="h5">{title}</h2>\n'
        f'    <p class="mb-1">{asks}</p>\n'
        f'    <p class="mb-1">{summary}</p>\n'
        f'    <blockquote class="border-start ps-2 mb-2">{justification}</blockquote>\n'
        f'    <p class="small mb-2">{others} {conditional_escape(other_grants_text(grants))}</p>\n'
        f"    {approval_steps(request.chain.steps.all())}\n  </div>\n</article>"
    )


# The messages every card repeats, in the active language, once per language.
@per_language
def _card_texts() -> dict[str, str]:
    return {
        "summary": gettext("<strong>%(summary)s</strong> (at the time of the request)."),
        "others": gettext("Other active grants of %(requester)s:"),
        "access_title": gettext("%(asset)s for %(purpose)s"),
    }


@per_language
def _asks_for(days: int) -> str:
    return ngettext(
        "<strong>%(requester)s</strong> asks for %(level)s for %(days)s day, %(since)s ago.",
        "<strong>%(requester)s</strong> asks for %(level)s for %(days)s days, %(since)s ago.",
        days,
    )


def _access(request: Any, link: str) -> tuple[str, str]:
    title = _filled(
        _card_texts()["access_title"],
        asset=request.asset.name,
        purpose=purpose_label(request.purpose),
    )
    asks = _filled(
        _asks_for(request.duration_days),
        requester=request.requester,
        level=str(request.get_level_display()).lower(),
        days=formats.localize(request.duration_days),
        since=timesince(request.created_at),
    )
    return f'<a href="{conditional_escape(link)}">{title}</a>', asks


def _sharing(request: Any, link: str) -> tuple[str, str]:
    badge = conditional_escape(gettext("External sharing"))
    title = _filled(
        gettext("%(asset)s to %(recipient)s (%(country)s) for %(purpose)s"),
        asset=request.asset.name,
        recipient=request.recipient,
        country=request.recipient_country,
        purpose=purpose_label(request.purpose),
    )
    categories = ", ".join(
        conditional_escape(category_label(category)) for category in request.categories.all()
    )
    asks = _filled(
        # Translators: "<requester> asks to share" is followed by the list of data
        # categories, then by "under <agreement> (until <date>), <time> ago."
        gettext("<strong>%(requester)s</strong> asks to share"),
        requester=request.requester,
    )
    terms = _filled(
        gettext("under %(agreement)s (until %(until)s), %(since)s ago."),
        agreement=request.agreement_reference,
        until=formats.date_format(request.agreement_end, "DATE_FORMAT")
        if request.agreement_end
        else "",
        since=timesince(request.created_at),
    )
    heading = f'<span class="badge text-bg-warning">{badge}</span> '
    heading += f'<a href="{conditional_escape(link)}">{title}</a>'
    return heading, f"{asks} {categories} {terms}"
