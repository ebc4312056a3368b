from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from consent.countries import country_names
from consent.models import (
    ConsentSource,
    ConsentStatus,
    DataCategory,
    LawfulBasis,
    Purpose,
    TransferSafeguard,
)
from consent.selectors import suggested_purpose_keys
from consent.taxonomy_choices import group_by_name, group_categories
from customers.visibility import asset_list_for
from portal.forms import chosen_object
from portal.reasons import reason_field


def purpose_choice_field(**kwargs) -> forms.ModelChoiceField:
    """A select of the active purposes by key; a key typed by hand must match exactly."""
    return forms.ModelChoiceField(
        queryset=Purpose.objects.filter(active=True).order_by("key"),
        to_field_name="key",
        error_messages={"invalid_choice": _("Unknown purpose: choose one from the list.")},
        **{"label": _("Purpose"), **kwargs},
    )


class LawfulBasisForm(forms.Form):
    """Compliance changes the lawful basis a purpose relies on (``consent.lawful_basis``)."""

    purpose = forms.ModelChoiceField(
        queryset=Purpose.objects.order_by("key"),
        label=_("Purpose"),
        to_field_name="key",
        error_messages={"invalid_choice": _("Unknown purpose: choose one from the list.")},
    )
    lawful_basis = forms.ChoiceField(choices=LawfulBasis.choices, label=_("Lawful basis"))
    reason = reason_field(_("The legal ground and where it is documented; kept in the history."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        group_by_name(self.fields["purpose"])


class ConsentRecordForm(forms.Form):
    """A consent or withdrawal recorded by a compliance officer on the customer page."""

    purpose = purpose_choice_field()
    status = forms.ChoiceField(choices=ConsentStatus.choices, label=_("Status"))
    source = forms.ChoiceField(choices=ConsentSource.choices, label=_("Source"))
    evidence = forms.CharField(
        max_length=500,
        label=_("Evidence"),
        required=False,
        help_text=_("Where the proof is: form submission id, contract number, call log."),
    )
    notice_version = forms.CharField(
        max_length=50,
        required=False,
        label=_("Notice version"),
        help_text=_("Version of the privacy notice shown."),
    )
    effective_at = forms.DateTimeField(
        required=False,
        label=_("Effective at"),
        help_text=_("When the customer agreed or withdrew (YYYY-MM-DD HH:MM); empty: now."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        group_by_name(self.fields["purpose"])


class ConsentImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Columns: customer (id or e-mail), purpose, status, source, evidence, "
            "notice_version, effective_at. Any bad row and nothing is imported."
        ),
    )


class CoverageForm(forms.Form):
    """The purpose whose coverage the asset page shows."""

    purpose = purpose_choice_field(required=False, empty_label=_("Choose a purpose"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        group_by_name(self.fields["purpose"])


# --- External sharing ------------------------------------------------------------------


def country_choices() -> list[tuple[str, str]]:
    """The countries by name in the active language (called each time the field is drawn)."""
    by_name = sorted(country_names().items(), key=lambda item: item[1])
    return [("", gettext("Choose the recipient's country"))] + [
        (code, f"{name} ({code})") for code, name in by_name
    ]


class SharingRequestForm(forms.Form):
    """Input shape of a sharing request; the rules are checked by the service.

    Without JavaScript the categories depend on the asset: *Show categories and coverage*
    reloads the form with the chosen asset's categories.
    """

    asset = forms.ModelChoiceField(
        queryset=None, empty_label=_("Choose an asset"), label=_("Asset")
    )
    purpose = purpose_choice_field(
        empty_label=_("Choose what the recipient will use it for"),
        help_text=_(
            "Only customers who agreed to third_party_sharing, and who may be used for "
            "this purpose, are shared."
        ),
    )
    recipient = forms.CharField(max_length=200, label=_("Recipient organisation"))
    recipient_country = forms.ChoiceField(choices=country_choices, label=_("Recipient country"))
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Justification"),
        max_length=5000,
        help_text=_("Why the recipient needs this data, in at least a sentence."),
    )
    agreement_reference = forms.CharField(
        max_length=200, label=_("Agreement reference (DPA)"), help_text=_("Required.")
    )
    agreement_end = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        label=_("Agreement end date"),
        help_text=_("YYYY-MM-DD; not in the past."),
    )
    categories = forms.ModelMultipleChoiceField(
        queryset=None,
        to_field_name="key",
        widget=forms.CheckboxSelectMultiple,
        label=_("Data categories to share"),
        error_messages={"invalid_choice": _("Choose only categories the asset holds.")},
    )
    deletion_confirmation_required = forms.BooleanField(
        required=False,
        initial=True,
        label=_("The recipient must confirm deletion when the agreement ends"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # The catalogue's selector: an id typed by hand cannot reach an unseen asset.
        self.fields["asset"].queryset = asset_list_for(user).order_by("name")
        # The asset chosen so far (``None`` before one is): its categories and suggestions.
        self.asset = asset = chosen_object(self, "asset")
        if asset is None:
            self.fields["categories"].queryset = DataCategory.objects.none()
            self.fields["categories"].help_text = _(
                "Choose the asset, then *Show categories and coverage*."
            )
        else:
            self.fields["categories"].queryset = asset.data_categories.order_by("key")
        group_categories(self.fields["categories"])
        # The purposes that make sense for the chosen asset first, the rest by name.
        suggested = suggested_purpose_keys(asset) if asset is not None else ()
        group_by_name(self.fields["purpose"], suggested=suggested)


class SharingDecisionForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Reason"),
        max_length=2000,
        help_text=_("Kept in the request's timeline and the audit trail."),
    )
    transfer_safeguard = forms.ChoiceField(
        required=False,
        label=_("Transfer safeguard"),
        choices=[("", _("Choose the safeguard")), *TransferSafeguard.choices],
        help_text=_("Required to approve: the recipient is outside the EU/EEA."),
    )

    def __init__(self, *args, safeguard_required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not safeguard_required:
            del self.fields["transfer_safeguard"]


class WithdrawalForwardedForm(forms.Form):
    note = forms.CharField(
        max_length=500, label=_("Note"), help_text=_("How and when the recipient was told.")
    )


class DeletionConfirmForm(forms.Form):
    evidence = forms.CharField(
        max_length=500,
        label=_("Evidence"),
        help_text=_("Where the recipient's confirmation of deletion is kept."),
    )


class RecordAsOfForm(forms.Form):
    """The day the record of processing activities is asked for (``as_of``); empty is today."""

    as_of = forms.DateField(
        required=False, label=_("As of"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_as_of(self):
        day = self.cleaned_data.get("as_of")
        if day is not None and day > timezone.localdate():
            raise forms.ValidationError(_("The record cannot be produced for a day to come."))
        return day


class ProcessingActivityForm(forms.Form):
    """A processing activity of the record: what the portal's data cannot tell."""

    name = forms.CharField(
        max_length=200, label=_("Name"), help_text=_('For example "E-mail marketing".')
    )
    purposes = forms.ModelMultipleChoiceField(
        queryset=Purpose.objects.filter(active=True).order_by("key"),
        label=_("Purposes"),
        help_text=_("A purpose covers its narrower ones (marketing covers marketing e-mail)."),
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Description")
    )
    data_subject_categories = forms.CharField(
        max_length=500, initial=_("Customers"), label=_("Categories of data subjects")
    )
    joint_controllers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Joint controllers")
    )
    security_measures = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Security measures"),
        required=False,
        help_text=_("Empty: the portal's own controls (grants, classification, audit trail)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        group_by_name(self.fields["purposes"])
