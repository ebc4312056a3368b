from django import forms

from consent.models import DataCategory, Purpose
from customers.models import AccessLevel, Classification
from customers.selectors import asset_list_for, asset_owner_choices

CONFIRMED_CHOICES = [("", "Any"), ("yes", "Confirmed"), ("no", "Not yet confirmed")]


class AssetFilterForm(forms.Form):
    """The catalogue's search and filters; the same form validates the API's query."""

    q = forms.CharField(required=False, max_length=200, label="Search")
    classification = forms.ChoiceField(
        required=False, choices=[("", "Any")] + Classification.choices
    )
    owner = forms.ModelChoiceField(required=False, queryset=None, empty_label="Anyone")
    category = forms.ModelChoiceField(
        required=False,
        queryset=DataCategory.objects.filter(active=True),
        to_field_name="key",
        empty_label="Any",
        label="Data category",
    )
    confirmed = forms.ChoiceField(required=False, choices=CONFIRMED_CHOICES)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = asset_owner_choices(user)

    def filters(self) -> dict:
        data = self.cleaned_data
        confirmed = {"yes": True, "no": False}.get(data.get("confirmed") or "")
        return {
            "q": (data.get("q") or "").strip(),
            "classification": data.get("classification") or "",
            "owner": data.get("owner"),
            "category": data.get("category"),
            "confirmed": confirmed,
        }


class AssetClassifyForm(forms.Form):
    classification = forms.ChoiceField(choices=Classification.choices)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Why this class is right for this asset; kept in its history.",
    )


class AccessRequestForm(forms.Form):
    asset = forms.ModelChoiceField(queryset=None, empty_label="Choose an asset")
    purpose = forms.ModelChoiceField(
        queryset=Purpose.objects.filter(active=True).order_by("key"),
        to_field_name="key",
        empty_label="Choose what you will use it for",
        help_text="The data use from the privacy taxonomy; only customers who may be used for "
        "it are ever shown to you.",
    )
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="The business need, in at least a sentence. Approvers read this.",
    )
    level = forms.ChoiceField(
        choices=AccessLevel.choices, initial=AccessLevel.VIEW, widget=forms.RadioSelect
    )
    duration_days = forms.IntegerField(
        min_value=1, max_value=90, initial=30, label="Duration (days)"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # The same selector as the catalogue: an id typed by hand cannot reach an asset the
        # menu would not offer.
        self.fields["asset"].queryset = asset_list_for(user).order_by("name")
        self.fields["purpose"].label_from_instance = lambda p: f"{p.key} — {p.name}"


class DecisionForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="Kept in the request's timeline and the audit trail.",
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(max_length=2000, help_text="Why this access ends now.")


GRANT_STATUS_CHOICES = [("", "Any"), ("active", "Active"), ("ended", "Expired or revoked")]


class GrantFilterForm(forms.Form):
    """Compliance's filters on every grant: holder, asset, status."""

    user = forms.ModelChoiceField(required=False, queryset=None, label="Holder")
    asset = forms.ModelChoiceField(required=False, queryset=None)
    status = forms.ChoiceField(required=False, choices=GRANT_STATUS_CHOICES)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        self.fields["user"].queryset = (
            get_user_model()
            .objects.filter(access_grants__isnull=False)
            .distinct()
            .order_by("username")
        )
        self.fields["asset"].queryset = asset_list_for(user).order_by("name")

    def apply(self, grants):
        from django.db.models import Q
        from django.utils import timezone

        data = self.cleaned_data
        if data.get("user"):
            grants = grants.filter(user=data["user"])
        if data.get("asset"):
            grants = grants.filter(asset=data["asset"])
        active = Q(revoked_at__isnull=True, expires_at__gt=timezone.now())
        if data.get("status") == "active":
            grants = grants.filter(active)
        elif data.get("status") == "ended":
            grants = grants.exclude(active)
        return grants
