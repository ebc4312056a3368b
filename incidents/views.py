"""Incident pages: report, my reports, the list for Compliance and Legal, the detail page with
its triage forms. Every page shows times in the viewer's zone (``User.time_zone``, else the
site's: ``portal.display.TimeZoneMiddleware``) and works without JavaScript."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_stubs_ext import StrOrPromise

from incidents import policies
from incidents.forms import (
    AlertDismissForm,
    AwarenessForm,
    ConfirmForm,
    CustomerNoticeForm,
    DutyRecordForm,
    IncidentFilterForm,
    IncidentReportForm,
    NoRiskProposeForm,
    NoteForm,
    RegimeApplyForm,
    TriageForm,
)
from incidents.list_rows import incident_triage_pages
from incidents.misuse_signals import SIGNAL_LABELS
from incidents.models import AlertStatus
from incidents.permissions import get_alert_for_user, get_duty_for_user, get_incident_for_user
from incidents.selectors import (
    alert_list_for,
    impact_summary,
    incident_duties,
    incident_list_for,
    incident_timeline,
    reporter_shown,
    with_clocks,
)
from incidents.services.alerts import alert_dismiss, alert_open_incident
from incidents.services.deadlines import (
    incident_awareness_set,
    incident_customer_notice_decide,
    incident_duty_record,
    incident_no_risk_confirm,
    incident_no_risk_propose,
    incident_regime_apply,
)
from incidents.services.reports import incident_acknowledge, incident_report
from incidents.services.triage import incident_note_add, incident_triage
from portal.errors import ApplicationError
from portal.idempotency import ALREADY_SENT, create_once
from portal.pagination import other_parameters
from portal.refusals import show_refusal

PAGE_SIZE = 25


@login_required
def report(request):
    form = IncidentReportForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            incident, url = create_once(
                request,
                lambda: incident_report(actor=request.user, **form.cleaned_data),
                url=lambda incident: reverse("incidents:detail", args=[incident.pk]),
            )
        except ApplicationError as error:
            show_refusal(error, form=form)
        else:
            if incident is None:
                messages.info(request, ALREADY_SENT)
            else:
                messages.success(
                    request,
                    _(
                        "Thank you. Your report is %(reference)s; Compliance and Legal "
                        "have been notified."
                    )
                    % {"reference": incident.reference},
                )
            return redirect(url)
    status = 400 if request.method == "POST" else 200
    return render(request, "incidents/report.html", {"form": form}, status=status)


def _paginate(request, incidents):
    return Paginator(incidents, PAGE_SIZE).get_page(request.GET.get("page"))


@login_required
def mine(request):
    incidents = with_clocks(incident_list_for(request.user).filter(reporter=request.user))
    page = _paginate(request, incidents.order_by("-reported_at", "-id"))
    return render(request, "incidents/mine.html", {"page": page})


@login_required
def incident_list(request):
    if not policies.may_triage(request.user):
        return redirect("incidents:mine")
    form = IncidentFilterForm(request.GET or None)
    filters = form.filters() if form.is_valid() else {}
    page = _paginate(request, incident_triage_pages(request.user, **filters))
    for incident in page.object_list:
        incident.reporter_shown = reporter_shown(incident, request.user)
    return render(
        request,
        "incidents/list.html",
        {"form": form, "page": page, "query": other_parameters(request), "now": timezone.now()},
    )


def _detail_context(request, incident, **bound) -> dict:
    context = {
        "incident": incident,
        "reporter": reporter_shown(incident, request.user),
        "is_own": incident.reporter_id == request.user.pk,
        "can_triage": policies.may_triage(request.user),
    }
    if not context["can_triage"]:
        return context
    duties = incident_duties(incident)
    context.update(
        duties=duties,
        timeline=incident_timeline(incident),
        impact=impact_summary(incident),
        triage_form=bound.get("triage_form") or TriageForm.for_incident(incident),
        note_form=bound.get("note_form") or NoteForm(),
        regime_form=bound.get("regime_form") or RegimeApplyForm(incident=incident),
        awareness_form=bound.get("awareness_form") or AwarenessForm(),
        no_risk_form=bound.get("no_risk_form") or NoRiskProposeForm(),
        customer_notice_form=bound.get("customer_notice_form") or CustomerNoticeForm(),
        duty_forms=[
            (duty, bound.get(f"duty_form_{duty.pk}") or DutyRecordForm(prefix=f"duty{duty.pk}"))
            for duty in duties
            if duty.is_open
        ],
        user_can_confirm_no_risk=(
            incident.no_risk_proposed_at is not None
            and incident.no_risk_confirmed_at is None
            and policies.may_confirm_no_risk(request.user, incident)
        ),
    )
    return context


@login_required
def detail(request, pk):
    incident = get_incident_for_user(request.user, pk)
    return render(request, "incidents/detail.html", _detail_context(request, incident))


def _act(request, pk, *, form, name: str, perform: Callable, done: StrOrPromise):
    """Load (404), check the role (403), validate, call one service, redirect or re-render
    the page with the form's message (400, nothing changed)."""
    incident = get_incident_for_user(request.user, pk)
    policies.require_may_triage(request.user)
    bound = form(incident)
    if bound.is_valid():
        try:
            perform(incident, bound.cleaned_data)
        except ApplicationError as error:
            show_refusal(error, form=bound)
        else:
            messages.success(request, done)
            return redirect("incidents:detail", pk=incident.pk)
    messages.error(request, _("Nothing was changed; see the message at the form."))
    context = _detail_context(request, incident, **{name: bound})
    return render(request, "incidents/detail.html", context, status=400)


def _incident_action(service, form_class, name: str, done: StrOrPromise, *, arguments=dict):
    """A POST-only page action: ``form_class``'s cleaned data, through ``arguments``, are
    the keyword arguments of ``service(actor=..., incident=..., ...)``."""

    @require_POST
    @login_required
    def view(request, pk):
        return _act(
            request,
            pk,
            form=lambda incident: form_class(request.POST, incident=incident),
            name=name,
            perform=lambda incident, data: service(
                actor=request.user, incident=incident, **arguments(data)
            ),
            done=done,
        )

    return view


acknowledge = _incident_action(
    incident_acknowledge,
    ConfirmForm,
    "acknowledge_form",
    gettext_lazy("Acknowledged. The reporter has been told."),
)
triage = _incident_action(
    incident_triage,
    TriageForm,
    "triage_form",
    gettext_lazy("Saved."),
    arguments=TriageForm.changes_from,
)
note = _incident_action(incident_note_add, NoteForm, "note_form", gettext_lazy("Note added."))
regime_apply = _incident_action(
    incident_regime_apply,
    RegimeApplyForm,
    "regime_form",
    gettext_lazy("The regime applies; its deadlines are running."),
)
awareness = _incident_action(
    incident_awareness_set,
    AwarenessForm,
    "awareness_form",
    gettext_lazy("Awareness time recorded; the clocks have moved with it."),
)
no_risk_propose = _incident_action(
    incident_no_risk_propose,
    NoRiskProposeForm,
    "no_risk_form",
    gettext_lazy("Proposed. A second member of Compliance or Legal must confirm it."),
)
no_risk_confirm = _incident_action(
    incident_no_risk_confirm,
    ConfirmForm,
    "no_risk_confirm_form",
    gettext_lazy("Confirmed: the authority is not notified; the clock has stopped."),
)
customer_notice = _incident_action(
    incident_customer_notice_decide,
    CustomerNoticeForm,
    "customer_notice_form",
    gettext_lazy("The Art. 34 decision is recorded."),
)


@require_POST
@login_required
def duty_record(request, pk, duty_pk):
    duty = get_duty_for_user(request.user, pk, duty_pk)
    return _act(
        request,
        pk,
        form=lambda incident: DutyRecordForm(request.POST, prefix=f"duty{duty.pk}"),
        name=f"duty_form_{duty.pk}",
        perform=lambda incident, data: incident_duty_record(actor=request.user, duty=duty, **data),
        done=_("%(duty)s recorded; its clock has stopped.") % {"duty": duty.duty.label},
    )


# --- Misuse alerts (Compliance only; 404 for everyone else and for the person concerned) --


@login_required
def alert_list(request):
    if not policies.may_handle_alerts(request.user):
        raise Http404
    status = request.GET.get("status", "open")
    alerts = alert_list_for(request.user)
    if status in AlertStatus.values:
        alerts = alerts.filter(status=status)
    page = _paginate(request, alerts)
    return render(
        request,
        "incidents/alerts.html",
        {"page": page, "status": status, "statuses": AlertStatus.choices, "labels": SIGNAL_LABELS},
    )


def _alert_page(request, alert, form=None, status=200):
    context = {"alert": alert, "form": form or AlertDismissForm(), "labels": SIGNAL_LABELS}
    return render(request, "incidents/alert_detail.html", context, status=status)


@login_required
def alert_detail(request, pk):
    return _alert_page(request, get_alert_for_user(request.user, pk))


@require_POST
@login_required
def alert_dismiss_view(request, pk):
    alert = get_alert_for_user(request.user, pk)
    form = AlertDismissForm(request.POST)
    if form.is_valid():
        try:
            alert_dismiss(alert=alert, actor=request.user, reason=form.cleaned_data["reason"])
        except ApplicationError as error:
            show_refusal(error, form=form)
        else:
            messages.success(request, _("Alert dismissed."))
            return redirect("incidents:alert_list")
    return _alert_page(request, alert, form, status=400)


@require_POST
@login_required
def alert_incident_view(request, pk):
    alert = get_alert_for_user(request.user, pk)
    try:
        incident = alert_open_incident(alert=alert, actor=request.user)
    except ApplicationError as error:
        show_refusal(error, request=request)
        return redirect("incidents:alert_detail", pk=alert.pk)
    messages.success(
        request,
        _("Incident %(reference)s opened from the alert.") % {"reference": incident.reference},
    )
    return redirect("incidents:detail", pk=incident.pk)
