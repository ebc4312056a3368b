from django import forms

from consent.models import ConsentSource, ConsentStatus, Purpose


def purpose_choice_field(**kwargs) -> forms.ModelChoiceField:
    """A select of the active purposes by key; a key typed by hand must match exactly."""
    return forms.ModelChoiceField(
        queryset=Purpose.objects.filter(active=True).order_by("key"),
        to_field_name="key",
        error_messages={"invalid_choice": "Unknown purpose: choose one from the list."},
        **kwargs,
    )


class ConsentRecordForm(forms.Form):
    """A consent or withdrawal recorded by a compliance officer on the customer page."""

    purpose = purpose_choice_field()
    status = forms.ChoiceField(choices=ConsentStatus.choices)
    source = forms.ChoiceField(choices=ConsentSource.choices)
    evidence = forms.CharField(
        max_length=500,
        required=False,
        help_text="Where the proof is: form submission id, contract number, call log.",
    )
    notice_version = forms.CharField(
        max_length=50, required=False, help_text="Version of the privacy notice shown."
    )
    effective_at = forms.DateTimeField(
        required=False,
        help_text="When the customer agreed or withdrew (YYYY-MM-DD HH:MM); empty: now.",
    )


class ConsentImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            "Columns: customer (id or e-mail), purpose, status, source, evidence, "
            "notice_version, effective_at. Any bad row and nothing is imported."
        ),
    )


class CoverageForm(forms.Form):
    """The purpose whose coverage the asset page shows."""

    purpose = purpose_choice_field(required=False, empty_label="Choose a purpose")
