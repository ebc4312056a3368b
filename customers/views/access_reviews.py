"""Access review pages: the campaigns (compliance starts them), a campaign's page (compliance:
progress per reviewer and every item; a reviewer: their items with the evidence, to keep or
revoke), deciding, accepting a page's recommendations, and the auditors' report."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from customers import policies
from customers.forms import ReviewDecideForm, ReviewStartForm
from customers.models.access_reviews import ReviewDecision
from customers.permissions import get_review_for_user, get_review_item_for_user
from customers.selectors.access_reviews import (
    evidence,
    recommendation,
    review_items_chosen,
    review_items_for,
    review_list_for,
    review_progress,
)
from customers.services import access_reviews as reviews_services
from portal.csv_export import csv_response
from portal.display import number_text
from portal.errors import ApplicationError
from portal.input_limits import as_id
from portal.refusals import show_refusal
from portal.security import local_url

PAGE_SIZE = 50


def _back(request, review):
    """To the page the form was on (``next``, a path on this site), else the campaign's."""
    if request.POST.get("next"):
        return redirect(local_url(request, request.POST["next"], default="customers:review_list"))
    return redirect(review)


@login_required
def review_list(request):
    form = None
    if policies.may_start_access_review(request.user):
        form = ReviewStartForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                review = reviews_services.review_start(
                    actor=request.user, settings=form.review_settings()
                )
            except ApplicationError as error:
                show_refusal(error, request=request, form=form)
            else:
                count = review.items.count()
                messages.success(
                    request,
                    ngettext(
                        "Access review started: %(count)s item.",
                        "Access review started: %(count)s items.",
                        count,
                    )
                    % {"count": number_text(count)},
                )
                return redirect(review)
    elif request.method == "POST":
        policies.require_may_start_access_review(request.user)
    # A page at a time: every mover starts a campaign of their own, so a large company
    # gathers thousands of them.
    page = Paginator(review_list_for(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/review_list.html",
        {"reviews": page.object_list, "page": page, "form": form},
    )


@login_required
def review_detail(request, pk):
    review = get_review_for_user(request.user, pk)
    items = review_items_for(request.user, review)
    if request.GET.get("undecided") == "1":
        items = items.filter(decision="")
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    for item in page.object_list:
        item.recommended = recommendation(item)
        item.recommended_label = ReviewDecision(item.recommended).label.lower()
        item.evidence = evidence(item)
        item.may_decide = policies.may_decide_review_item(request.user, item)
    progress = review_progress(review, request.user)
    return render(
        request,
        "customers/review_detail.html",
        {
            "review": review,
            "page": page,
            "progress": progress,
            "bars": _bars(progress),
            "chart_height": len(progress) * 28,
            "acceptable": any(i.may_decide and not i.decision for i in page.object_list),
            "decide_form": ReviewDecideForm(),
        },
    )


CHART_WIDTH = 400


def _bars(progress) -> list[dict]:
    """The chart's rows: per reviewer, the x and width (SVG units) of the kept, revoked and
    undecided parts, scaled to the reviewer with the most items."""
    most = max((row.total for row in progress), default=0) or 1
    bars = []
    for index, row in enumerate(progress):
        x, parts = 0, []
        for kind, count in (
            ("kept", row.kept),
            ("revoked", row.revoked),
            ("undecided", row.undecided),
        ):
            width = round(count * CHART_WIDTH / most)
            parts.append({"kind": kind, "x": x, "width": width, "count": count})
            x += width
        bars.append({"row": row, "y": index * 28, "parts": parts})
    return bars


@login_required
@require_POST
def review_item_decide(request, pk):
    item = get_review_item_for_user(request.user, pk)
    policies.require_may_decide_review_item(request.user, item)
    form = ReviewDecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose keep or revoke and give a reason."))
    else:
        try:
            reviews_services.review_item_decide(
                item=item,
                actor=request.user,
                decision=form.cleaned_data["decision"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as error:
            show_refusal(error, request=request)
        else:
            decision = ReviewDecision(form.cleaned_data["decision"]).label.lower()
            messages.success(request, _("Decided: %(decision)s.") % {"decision": decision})
    return _back(request, item.review)


@login_required
@require_POST
def review_accept(request, pk):
    review = get_review_for_user(request.user, pk)
    ids = [pk for value in request.POST.getlist("item") if (pk := as_id(value)) is not None]
    # Every item sent is decided or none is: one the viewer cannot see, or may not decide,
    # or whose recommendation changed since the page was shown, is refused with its reason,
    # as the API refuses it, never dropped in silence.
    shown = {pk: request.POST.get(f"shown-{pk}", "") for pk in ids[:PAGE_SIZE]}
    try:
        items, missing = review_items_chosen(request.user, ids[:PAGE_SIZE], review=review)
        if missing or len(ids) != len(request.POST.getlist("item")):
            raise ApplicationError(_("Some of these review items are not yours to decide here."))
        decided = reviews_services.review_items_accept_recommendations(
            items=items, actor=request.user, reason=request.POST.get("reason", ""), shown=shown
        )
    except ApplicationError as error:
        show_refusal(error, request=request)
    else:
        messages.success(
            request,
            ngettext(
                "%(count)s recommendation accepted.", "%(count)s recommendations accepted.", decided
            )
            % {"count": number_text(decided)},
        )
    return _back(request, review)


REPORT_COLUMNS = [
    "item",
    "holder",
    "asset",
    "purpose",
    "level",
    "reviewer",
    "decision",
    "decided_by",
    "decided_at",
    "reason",
    "automatic",
    "last_viewed_at",
    "last_exported_at",
    "uses_last_90_days",
    "coverage_eligible",
    "coverage_total",
]


def _report_row(item) -> dict:
    """An item as a row of the CSV report: the contract's machine values, in English."""

    def when(value):
        return value.isoformat() if value else "never"

    seen = evidence(item)
    return {
        "item": item.pk,
        "holder": item.grant.user.username,
        "asset": item.grant.asset.name,
        "purpose": item.grant.purpose.key,
        "level": item.grant.level,
        "reviewer": item.reviewer.username if item.reviewer else "compliance",
        "decision": item.decision or "undecided",
        "decided_by": item.decided_by.username if item.decided_by else "",
        "decided_at": item.decided_at.isoformat() if item.decided_at else "",
        "reason": item.reason,
        "automatic": "yes" if item.automatic else "no",
        "last_viewed_at": when(seen.viewed_at),
        "last_exported_at": when(seen.exported_at),
        "uses_last_90_days": seen.uses,
        "coverage_eligible": item.coverage_eligible,
        "coverage_total": item.coverage_total,
    }


def _report_page_row(item) -> dict:
    """An item as a row of the printable report: the same facts as ``_report_row``, in the
    reader's language (labels, and times in the one format of the page)."""
    seen = evidence(item)
    return {
        "item": item.pk,
        "holder": item.grant.user.username,
        "asset": item.grant.asset.name,
        "purpose": item.grant.purpose.key,
        "level": item.grant.get_level_display(),
        "reviewer": item.reviewer.username if item.reviewer else _("compliance"),
        "decision": ReviewDecision(item.decision).label.lower() if item.decision else "",
        "decided_by": item.decided_by.username if item.decided_by else "",
        "decided_at": item.decided_at,
        "reason": item.reason,
        "automatic": item.automatic,
        "last_viewed_at": seen.viewed_at,
        "last_exported_at": seen.exported_at,
        "uses": seen.uses,
        "coverage_eligible": item.coverage_eligible,
        "coverage_total": item.coverage_total,
    }


@login_required
def review_report(request, pk):
    """Every item of the campaign, as CSV (``?format=csv``) or a printable page."""
    review = get_review_for_user(request.user, pk)
    policies.require_may_start_access_review(request.user)
    items = review_items_for(request.user, review)
    if request.GET.get("format") == "csv":
        return csv_response(
            filename=f"access-review-{review.pk}.csv",
            columns=REPORT_COLUMNS,
            rows=(_report_row(item) for item in items.iterator(chunk_size=500)),
        )
    return render(
        request,
        "customers/review_report.html",
        {
            "review": review,
            "rows": [_report_page_row(item) for item in items],
            "progress": review_progress(review, request.user),
        },
    )
