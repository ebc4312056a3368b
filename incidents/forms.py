"""Input shapes of the incident pages. Rules live in the services; choices come from the
same selectors the services check, so a hand-typed id cannot reach a hidden asset."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_stubs_ext import StrOrPromise

from customers.visibility import asset_list_for
from incidents.models import CustomerNotice, Incident, Severity, Status
from incidents.selectors import regimes_not_applied, responders
from portal.input_limits import column_max

LOCAL_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
YES_NO = {"yes": True, "no": False}


class IncidentActionForm(forms.Form):
    """A form of the incident page: built with the incident, whose choices may depend on it."""

    def __init__(self, *args, incident=None, **kwargs):
        super().__init__(*args, **kwargs)


def moment_field(
    label: StrOrPromise, *, required: bool = True, help_text: StrOrPromise = ""
) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, required=required, widget=LOCAL_INPUT, help_text=help_text
    )


class IncidentReportForm(forms.Form):
    title = forms.CharField(
        label=_("Short title"),
        help_text=_('A few words to recognise it by, such as "Laptop lost on the train".'),
        max_length=200,
        widget=forms.TextInput(attrs={"autofocus": True}),
    )
    description = forms.CharField(
        label=_("What happened"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What you saw or suspect, where, and who else knows. No customer records."),
    )
    discovered_at = moment_field(
        _("When you discovered it"),
        required=False,
        help_text=_("In your time zone. Leave as is (or empty) if it was just now."),
    )
    assets = forms.ModelMultipleChoiceField(
        label=_("Data assets involved"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Optional: leave empty if you do not know."),
    )
    estimated_customers = forms.IntegerField(
        label=_("Customers affected (estimate)"),
        min_value=0,
        max_value=column_max(Incident, "estimated_customers"),
        required=False,
    )
    confidential_reporter = forms.BooleanField(
        label=_("Keep my identity confidential"),
        required=False,
        help_text=_("Only Compliance and Legal will see that you reported it."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assets"].queryset = asset_list_for(user).order_by("name")
        self.fields["discovered_at"].initial = timezone.now().replace(second=0, microsecond=0)


class IncidentFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *Status.choices], required=False
    )
    severity = forms.ChoiceField(
        label=_("Severity"), choices=[("", _("Any severity")), *Severity.choices], required=False
    )
    breach = forms.ChoiceField(
        label=_("Personal-data breach"),
        choices=[
            ("", _("Any")),
            ("yes", _("Yes")),
            ("no", _("No")),
            ("unknown", _("Not decided")),
        ],
        required=False,
    )
    overdue = forms.ChoiceField(
        label=_("Deadlines"),
        choices=[("", _("Any")), ("yes", _("Overdue")), ("no", _("Not overdue"))],
        required=False,
    )

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "status": data.get("status", ""),
            "severity": data.get("severity", ""),
            "breach": data.get("breach", ""),
            "overdue": YES_NO.get(data.get("overdue", "")),
        }


class TriageForm(IncidentActionForm):
    status = forms.ChoiceField(label=_("Status"), choices=Status.choices)
    severity = forms.ChoiceField(
        label=_("Severity"), choices=[("", _("Not set")), *Severity.choices], required=False
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=None, required=False, empty_label=_("Nobody")
    )
    personal_data_breach = forms.ChoiceField(
        label=_("Personal-data breach"),
        choices=[("", _("Not decided")), ("yes", _("Yes")), ("no", _("No"))],
        required=False,
    )
    breach_reason = forms.CharField(
        label=_("Reason for the breach decision"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.CharField(
        # Not "Note": the page's own note box below is the one for the timeline.
        label=_("Reason for this change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when moving the status back."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = responders()

    @classmethod
    def for_incident(cls, incident):
        breach = {True: "yes", False: "no"}.get(incident.personal_data_breach, "")
        return cls(
            initial={
                "status": incident.status,
                "severity": incident.severity,
                "assignee": incident.assignee_id,
                "personal_data_breach": breach,
                "breach_reason": incident.breach_reason,
            }
        )

    @staticmethod
    def changes_from(data: dict) -> dict:
        """The arguments of ``incident_triage``: blank choices mean "leave as it is"."""
        changes = {"status": data["status"], "assignee": data["assignee"], "note": data["note"]}
        if data["severity"]:
            changes["severity"] = data["severity"]
        if data["personal_data_breach"]:
            changes["personal_data_breach"] = YES_NO[data["personal_data_breach"]]
            changes["breach_reason"] = data["breach_reason"]
        return changes


class NoteForm(IncidentActionForm):
    text = forms.CharField(
        label=_("Note for the timeline"), widget=forms.Textarea(attrs={"rows": 3})
    )


class RegimeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.label


class RegimeApplyForm(IncidentActionForm):
    regime = RegimeChoiceField(queryset=None, label=_("Regime"))
    applied_at = moment_field(
        _("Applies since"),
        required=False,
        help_text=_("Empty means now. DORA: the moment the incident was classified as major."),
    )

    def __init__(self, *args, incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.fields["regime"].queryset = regimes_not_applied(incident)


class DutyRecordForm(IncidentActionForm):
    completed_at = moment_field(_("Made on"), required=False, help_text=_("Empty means now."))
    reference = forms.CharField(label=_("Reference (case or receipt number)"), max_length=200)
    delay_reason = forms.CharField(
        label=_("Reasons for the delay"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when it is made after its due time (GDPR Art. 33(1))."),
    )


class AwarenessForm(IncidentActionForm):
    aware_at = moment_field(_("Became aware on"))
    reason = forms.CharField(
        label=_("Why awareness came later than discovery"), widget=forms.Textarea(attrs={"rows": 2})
    )


class NoRiskProposeForm(IncidentActionForm):
    reason = forms.CharField(
        label=_("Why the breach is unlikely to result in a risk"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ConfirmForm(IncidentActionForm):
    """A button: the decision is the POST itself."""


class CustomerNoticeForm(IncidentActionForm):
    decision = forms.ChoiceField(
        label=_("Tell the affected customers (Art. 34)?"),
        choices=[c for c in CustomerNotice.choices if c[0]],
    )
    reason = forms.CharField(
        label=pgettext_lazy("why", "Reason"), widget=forms.Textarea(attrs={"rows": 2})
    )


class AlertDismissForm(forms.Form):
    reason = forms.CharField(
        label=_("Why this is not misuse"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("At least 10 characters; kept as evidence with the alert."),
    )
