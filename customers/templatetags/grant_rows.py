"""The rows of the grant lists (*My grants*, *On my assets*, *All grants*): one per grant.

``{% load grant_rows %}`` then ``{% grant_row g %}`` with a ``GrantRow``
(``customers.selectors.grants``), inside the list's page (it reads ``user``, ``scope`` and
``request`` from it): the asset, the holder, purpose, level, until when (and how long is
left), the status (and who revoked it, why), the holder's own links to the records and the
export, and the revoke form for owners and compliance.

Written in Python rather than as a template, for the reason and in the way of
``approval_cards``: the same messages (their translations unchanged), every value escaped,
the CSRF field written by Django's own tag.
"""

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timeuntil
from django.utils.translation import gettext

from consent.templatetags.taxonomy import purpose_label
from customers.selectors.grants import GrantRow
from customers.templatetags.access_grants import grant_status_label
from portal.display import datetime_text
from portal.languages import reads_language_once
from portal.paths import object_path

register = template.Library()

CSRF_FIELD = CsrfTokenNode()


@register.simple_tag(takes_context=True)
@reads_language_once
def grant_row(context: template.Context, grant: GrantRow) -> SafeString:
    """``grant`` as a ``<tr>`` of seven cells, as the reader of the page sees it: their own
    active grants link to the records (and the export at export level); on the lists of
    owners and compliance (``scope`` other than ``mine``) an active grant has the revoke
    form, which comes back to this page (``next``)."""
    active = grant.status == "active"
    until = conditional_escape(datetime_text(grant.expires_at))
    if active:
        left = gettext("in %(left)s") % {"left": timeuntil(grant.expires_at)}
        until += mark_safe(f'<div class="small text-muted">{conditional_escape(left)}</div>')
    status = conditional_escape(grant_status_label(grant.status))
    if grant.revoked_by:
        by = gettext("by %(by)s: %(reason)s") % {
            "by": conditional_escape(grant.revoked_by),
            "reason": conditional_escape(grant.revoke_reason),
        }
        status += mark_safe(f'<div class="small text-muted">{by}</div>')
    cells = (
        conditional_escape(grant.asset.name),
        conditional_escape(grant.user),
        conditional_escape(purpose_label(grant.purpose)),
        conditional_escape(grant.get_level_display()),
        until,
        status,
    )
    row = "".join(f"\n      <td>{cell}</td>" for cell in cells)
    return mark_safe(
        f"\n    <tr>{row}\n      <td>\n{_actions(context, grant, active)}      </td>\n    </tr>\n"
    )


def _actions(context: template.Context, grant: GrantRow, active: bool) -> str:
    html = ""
    user = context.get("user")
    if active and grant.user_id == getattr(user, "pk", None):
        texts = _page_texts(context)
        records = object_path("customers:grant_records", grant.pk)
        html += (
            f'          <a class="btn btn-sm btn-outline-primary" href="{records}">'
            f"{texts['records']}</a>\n"
        )
        if grant.level == "export":
            export = object_path("customers:grant_export", grant.pk)
            html += (
                f'          <a class="btn btn-sm btn-outline-primary" href="{export}">'
                f"{texts['export']}</a>\n"
            )
    if active and context.get("scope") != "mine":
        html += _revoke_form(context, grant)
    return html


# The key of what every row of one page shares, kept in the page's render context.
_PAGE_TEXTS = object()


def _page_texts(context: template.Context) -> dict[str, str]:
    """What every row of the page writes alike, escaped, worked out once a page (in the
    template's render context): the buttons' and the revoke form's texts in the active
    language, the CSRF field and the page's own address (where the form comes back)."""
    texts = context.render_context.get(_PAGE_TEXTS)
    if texts is None:
        # The texts are translated outside the f-strings: gettext's extractor reads no
        # call inside one, and the catalogue would lose them.
        request = context.get("request")
        texts = {
            "records": conditional_escape(gettext("Records")),
            "export": conditional_escape(gettext("Export CSV")),
            "reason_label": conditional_escape(gettext("Reason for revoking")),
            "placeholder": conditional_escape(gettext("Reason")),
            "revoke": conditional_escape(gettext("Revoke")),
            "csrf": CSRF_FIELD.render(context),
            "here": conditional_escape(request.get_full_path() if request is not None else ""),
        }
        context.render_context[_PAGE_TEXTS] = texts
    return texts


def _revoke_form(context: template.Context, grant: GrantRow) -> str:
    texts = _page_texts(context)
    action = object_path("customers:grant_revoke", grant.pk)
    field = f"reason-{grant.pk}"
    return (
        f'        <form method="post" action="{action}" class="d-flex gap-1 mt-1">\n'
        f"          {texts['csrf']}\n"
        f'          <input type="hidden" name="next" value="{texts["here"]}">\n'
        f'          <label class="visually-hidden" for="{field}">{texts["reason_label"]}</label>\n'
        f'          <input class="form-control form-control-sm" id="{field}" name="reason" '
        f'placeholder="{texts["placeholder"]}" required>\n'
        f'          <button class="btn btn-sm btn-outline-danger" type="submit">'
        f"{texts['revoke']}</button>\n"
        "        </form>\n"
    )
