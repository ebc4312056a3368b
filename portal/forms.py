from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.display import time_zone_names
from portal.input_limits import FILTER_DATE, as_id, column_max
from portal.models import AuditEvent


class AuditFilterForm(forms.Form):
    """The audit log's filters; the same form validates the API's query.

    The asset is given by id: the audit log names assets but does not depend on the
    catalogue (a deleted asset's events stay searchable). Each row links to its asset's
    filter.
    """

    actor = forms.CharField(
        required=False, max_length=150, help_text=_("Username, or system / anonymous.")
    )
    action = forms.CharField(
        required=False,
        max_length=64,
        help_text=_("e.g. grant.create; grant finds every grant.* action."),
    )
    asset = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=column_max(AuditEvent, "asset_id"),
        label=_("Asset id"),
    )
    date_from = forms.DateField(
        required=False,
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[FILTER_DATE],
    )
    date_to = forms.DateField(
        required=False,
        label=_("To"),
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[FILTER_DATE],
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError(_("The start date is after the end date."))
        return data

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "actor": (data.get("actor") or "").strip(),
            "action": (data.get("action") or "").strip(),
            "asset": data.get("asset"),
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }


class OTPTokenForm(forms.Form):
    """The six-digit code of an authenticator app."""

    otp_token = forms.RegexField(
        regex=r"^\s*\d{6,8}\s*$",
        label=_("Code from your authenticator app"),
        max_length=10,
        error_messages={"invalid": _("Enter the 6-digit code your authenticator app shows.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_otp_token(self) -> str:
        return self.cleaned_data["otp_token"].strip()


def chosen_object(form: forms.Form, name: str):
    """The object chosen in ``form``'s field ``name`` before the form is validated: the
    submitted id, else the initial one, looked up in the field's queryset (so an id typed by
    hand cannot reach an object the menu would not offer). ``None`` when nothing valid is
    chosen. One query when an id is given, none otherwise.
    """
    chosen = as_id(form.data.get(name) or form.initial.get(name))
    if chosen is None:
        return None
    return form.fields[name].queryset.filter(pk=chosen).first()


class TimeZoneForm(forms.Form):
    """The zone a person reads times in (``portal.display``): any IANA zone of the tz
    database, by its name (``Europe/Oslo``)."""

    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("Dates and times in the portal and in your e-mails are shown in this zone."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [
            (name, name.replace("_", " ")) for name in time_zone_names()
        ]


class LanguageForm(forms.Form):
    """The language a person reads the portal and their e-mails in (``portal.languages``):
    a code of ``settings.LANGUAGES``, or empty for the browser's. ``next`` is the page to
    return to (checked by the view)."""

    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        help_text=_("Pages and the e-mails the portal sends you are written in this language."),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Each language by its own name, so a person finds theirs whatever the page says.
        self.fields["language"].choices = [
            ("", _("The browser's language")),
            *settings.LANGUAGES,
        ]
