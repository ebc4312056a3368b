from django import forms

from consent.models import DataCategory
from customers.models import Classification
from customers.selectors import asset_owner_choices

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
