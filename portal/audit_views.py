"""The audit log's pages: the log itself (filtered, a page at a time), its CSV download, and
compliance's "Verify and anchor now", which queues the anchor job."""

import json
from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import services
from portal.audit import HASHED_FIELDS
from portal.csv_export import csv_response
from portal.display import number_text
from portal.errors import ApplicationError
from portal.forms import AuditFilterForm
from portal.pagination import CappedPaginator, other_parameters
from portal.permissions import check_audit_log_reader, check_compliance_page
from portal.refusals import show_refusal
from portal.selectors import AuditEventRow, audit_event_list_for, audit_event_rows
from portal.templatetags.audit_text import detail_fields

AUDIT_PAGE_SIZE = 50
# Every stored field: an exported copy can be checked against its hashes.
AUDIT_CSV_COLUMNS = ["id", *HASHED_FIELDS, "hash"]


@login_required
def audit_log(request):
    check_audit_log_reader(request.user)
    form = AuditFilterForm(request.GET)
    filters = form.filters() if form.is_valid() else {}
    events = audit_event_list_for(request.user, **filters)
    page = CappedPaginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    # The page's events as plain rows, their detail ready to print: one query, and no
    # model instance or template tag per row.
    page.object_list = _with_details(audit_event_rows(page.object_list))
    return render(
        request,
        "portal/audit_log.html",
        {"form": form, "page": page, "query": other_parameters(request)},
        status=400 if form.errors else 200,
    )


def _with_details(rows: list[AuditEventRow]) -> list[AuditEventRow]:
    """``rows`` with their ``details``: each event's detail as ``(label, text)`` pairs
    (``detail_fields``), each text as the page printed it with ``{% translate text as
    shown %}`` and ``shown|truncatechars:120``: in the page's language, escaped, then cut
    at 120 characters. A text repeated down the page is worked out once."""
    shown: dict[str, str] = {}

    def translated(text: str) -> str:
        if text not in shown:
            # A fixed text stored in English (a directory's reason) reads in the page's
            # language. "%" is doubled for the catalogue's lookup and restored after, as
            # the tag does.
            message = _(text.replace("%", "%%")).replace("%%", "%")
            # Cut after escaping, as the page's ``truncatechars:120`` did: the cut of
            # escaped text stays safe to print.
            shown[text] = mark_safe(Truncator(conditional_escape(message)).chars(120))
        return shown[text]

    return [
        replace(
            row,
            details=tuple((label, translated(text)) for label, text in detail_fields(row.detail)),
        )
        for row in rows
    ]


@login_required
def audit_log_csv(request):
    """The filtered audit log as CSV, streamed; the download is itself an audit event."""
    check_audit_log_reader(request.user)
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return audit_log(request)  # the page, with the form's messages, as a 400
    events = services.audit_log_export(actor=request.user, filters=form.filters())
    name = f"audit-log-{timezone.now():%Y%m%d-%H%M%S}.csv"
    return csv_response(filename=name, columns=AUDIT_CSV_COLUMNS, rows=_csv_rows(events))


@login_required
@require_POST
def audit_anchor(request):
    """Compliance: verify the audit chain and anchor its head now (the task
    ``audit_anchor_requested``: the same work as ``manage.py audit_anchor`` and the daily
    beat job), recorded as ``audit.anchor`` with the officer as actor; 404 for everyone
    else. A worker runs it and the outcome reaches compliance's inboxes; without a worker
    (the local demo) it runs before the answer, which then says the outcome too."""
    check_compliance_page(request.user)
    try:
        outcome = services.audit_anchor_request(actor=request.user)
    except ApplicationError as error:
        show_refusal(error, request=request)
    else:
        if outcome is None:
            messages.info(
                request,
                _(
                    "The audit trail's verification is queued. Reload this page in a moment "
                    "to see its outcome on this card; a new anchor or a broken trail is also "
                    "sent to every compliance officer."
                ),
            )
        else:
            _say_anchor_outcome(request, outcome)
    return redirect(reverse("home") + "#audit-chain")


def _say_anchor_outcome(request, outcome: dict) -> None:
    if not outcome["ok"]:
        messages.error(
            request,
            _(
                "The audit trail is broken at event #%(event)s: %(reason)s Nothing was "
                "anchored; Compliance has been told."
            )
            % {"event": outcome["first_bad"], "reason": outcome["reason"]},
        )
    elif outcome["anchored_event"] is None:
        messages.info(request, _("The audit trail is empty: there is nothing to anchor yet."))
    else:
        messages.success(
            request,
            _(
                "The audit trail is intact: %(checked)s events verified; its head, event "
                "#%(event)s, is anchored in %(file)s."
            )
            % {
                "checked": number_text(outcome["checked"]),
                "event": outcome["anchored_event"],
                "file": outcome["file"],
            },
        )


def _csv_rows(events):
    """The events as row dicts for the one CSV writer (which neutralises formula cells:
    reasons and asset names are typed by people)."""
    for event in events.iterator(chunk_size=2000):
        row = {name: getattr(event, name) for name in AUDIT_CSV_COLUMNS}
        row["created_at"] = event.created_at.isoformat()
        row["detail"] = json.dumps(event.detail, sort_keys=True)
        yield row
