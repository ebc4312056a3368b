from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from consent.models import DataCategory, Purpose
from consent.selectors import suggested_purpose_keys
from consent.taxonomy_choices import group_by_name, group_categories
from customers.models.access import AccessLevel
from customers.models.access_reviews import DEFAULT_UNUSED_DAYS, ReviewDecision, ReviewRepeat
from customers.models.catalogue import Classification, DataAsset
from customers.models.subject_requests import ReceivedVia, SubjectRequestType
from customers.selectors.catalogue import asset_owner_choices
from customers.services.access_reviews import ReviewScope, ReviewSettings
from customers.visibility import active_grants, asset_list_for
from portal.forms import chosen_object
from portal.input_limits import FILTER_DATE
from portal.reasons import reason_field
from portal.selectors import people_named
from portal.site_calendar import end_of_day, start_of_day

CONFIRMED_CHOICES = [("", _("Any")), ("yes", _("Confirmed")), ("no", _("Not yet confirmed"))]


class AssetFilterForm(forms.Form):
    """The catalogue's search and filters; the same form validates the API's query.

    The owner is searched by name in ``q`` rather than picked from a list (a large
    company's catalogue has hundreds of owners); ``owner`` (a user id) still
    narrows to one owner, from the owner links of the list and in the API.
    """

    q = forms.CharField(
        required=False,
        max_length=200,
        label=_("Search"),
        help_text=_("Name, description or owner."),
    )
    classification = forms.ChoiceField(
        required=False,
        choices=[("", _("Any")), *Classification.choices],
        label=_("Classification"),
    )
    owner = forms.ModelChoiceField(
        required=False, queryset=None, widget=forms.HiddenInput, label=_("Owner")
    )
    category = forms.ModelChoiceField(
        required=False,
        queryset=DataCategory.objects.filter(active=True),
        to_field_name="key",
        empty_label=_("Any"),
        label=_("Data category"),
    )
    confirmed = forms.ChoiceField(required=False, choices=CONFIRMED_CHOICES, label=_("Confirmed"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # The owners' rule is built only when an owner is asked for: building the query of
        # visible assets costs about 1 ms, and most views of the catalogue name no owner.
        if self.data.get(self.add_prefix("owner")):
            self.fields["owner"].queryset = asset_owner_choices(user)
        else:
            self.fields["owner"].queryset = get_user_model().objects.none()
        group_categories(self.fields["category"])

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
    classification = forms.ChoiceField(choices=Classification.choices, label=_("Classification"))
    reason = reason_field(_("Why this class is right for this asset; kept in its history."))


class AssetOwnerForm(forms.Form):
    """Compliance hands an asset to another owner (``asset_owner_change``)."""

    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True),
        to_field_name="username",
        widget=forms.TextInput,
        label=_("New owner (username)"),
        error_messages={"invalid_choice": _("No active user has this username.")},
    )
    reason = reason_field(_("Why this person answers for the asset now; kept in its history."))


class AssetCollectionPurposesForm(forms.Form):
    """Compliance records what an asset's data was collected for."""

    purposes = forms.ModelMultipleChoiceField(
        queryset=Purpose.objects.filter(active=True).order_by("key"),
        to_field_name="key",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Collected for"),
        error_messages={"invalid_choice": _("Unknown purpose: choose from the list.")},
    )
    reason = reason_field(_("Where it says so (notice, contract, record); kept in its history."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        group_by_name(self.fields["purposes"])


# The request form's words for each level: what the person may do with it.
LEVEL_CHOICES = [
    (AccessLevel.VIEW, _("View records: see the eligible customers on screen, no download")),
    (AccessLevel.EXPORT, _("View and export records: also download them as a CSV file")),
]


class AccessRequestForm(forms.Form):
    asset = forms.ModelChoiceField(
        queryset=None, empty_label=_("Choose an asset"), label=_("Asset")
    )
    purpose = forms.ModelChoiceField(
        queryset=Purpose.objects.filter(active=True).order_by("key"),
        to_field_name="key",
        empty_label=_("Choose what you will use it for"),
        label=_("Purpose"),
        help_text=_(
            "The data use from the privacy taxonomy; only customers who may be used for "
            "it are ever shown to you."
        ),
    )
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        label=_("Justification"),
        help_text=_("The business need, in at least a sentence. Approvers read this."),
    )
    level = forms.ChoiceField(
        # What each level allows, said at the choice: a grant's level cannot be raised later,
        # only asked for again (and approved again).
        choices=LEVEL_CHOICES,
        initial=AccessLevel.VIEW,
        widget=forms.RadioSelect,
        label=_("Access level"),
        help_text=_(
            "Choose Export if you will need the customers in a file (a mailing, a "
            "report): a View grant has no Export link, and a higher level means a new request."
        ),
    )
    duration_days = forms.IntegerField(
        min_value=1, max_value=90, initial=30, label=_("Duration (days)")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # The same selector as the catalogue: an id typed by hand cannot reach an asset the
        # menu would not offer.
        self.fields["asset"].queryset = asset_list_for(user).order_by("name")
        # The purposes that make sense for the chosen asset first, the rest by name.
        self.asset = asset = chosen_object(self, "asset")
        suggested = suggested_purpose_keys(asset) if asset is not None else ()
        group_by_name(self.fields["purpose"], suggested=suggested)


class DecisionForm(forms.Form):
    reason = reason_field(_("Kept in the request's timeline and the audit trail."), rows=2)


class RevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=2000, label=_("Reason"), help_text=_("Why this access ends now.")
    )


GRANT_STATUS_CHOICES = [
    ("", _("Any")),
    ("active", _("Active")),
    ("ended", _("Expired or revoked")),
]


# A search naming at most this many holders and assets reads their grants by index.
FEW_NAMED = 100


def _holder_or_asset_named(q: str) -> Q:
    """The condition "the grant's holder or asset is named ``q``" (``people_named``, an
    asset name containing it, ignoring case), found once rather than tested on every
    grant. A name picks a few: their ids are handed over, and PostgreSQL reads their grants
    by the holder's and the asset's indexes instead of walking every grant newest first
    until a page is full (a holder's 20 grants among 20,000: 18 ms to about 1). A fragment
    naming hundreds ("a") keeps the subqueries, with which a page fills at once."""
    holders = people_named(q).values_list("pk", flat=True)
    assets = DataAsset.objects.filter(name__icontains=q).values_list("pk", flat=True)
    few_holders, few_assets = list(holders[: FEW_NAMED + 1]), list(assets[: FEW_NAMED + 1])
    if len(few_holders) + len(few_assets) <= FEW_NAMED:
        return Q(user__in=few_holders) | Q(asset__in=few_assets)
    return Q(user__in=holders) | Q(asset__in=assets)


class GrantFilterForm(forms.Form):
    """Compliance's filters on every grant: a search on the holder and the asset, a status.

    A search box, not a list to pick from: a large company's grants have a thousand holders
    and two thousand assets (the two lists took a second to render). ``user`` and
    ``asset`` still narrow to one holder or one asset by id, for links from other pages.
    """

    q = forms.CharField(
        required=False,
        max_length=200,
        label=_("Holder or asset"),
        help_text=_("Part of a name, username or asset name."),
    )
    status = forms.ChoiceField(required=False, choices=GRANT_STATUS_CHOICES, label=_("Status"))
    user = forms.ModelChoiceField(
        required=False, queryset=None, widget=forms.HiddenInput, label=_("Holder")
    )
    asset = forms.ModelChoiceField(
        required=False, queryset=None, widget=forms.HiddenInput, label=_("Asset")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        self.fields["user"].queryset = get_user_model().objects.all()
        self.fields["asset"].queryset = asset_list_for(user)

    def apply(self, grants):
        data = self.cleaned_data
        if q := data.get("q"):  # CharField strips it
            grants = grants.filter(_holder_or_asset_named(q))
        if data.get("user"):
            grants = grants.filter(user=data["user"])
        if data.get("asset"):
            grants = grants.filter(asset=data["asset"])
        active = active_grants().values("pk")
        if data.get("status") == "active":
            grants = grants.filter(pk__in=active)
        elif data.get("status") == "ended":
            grants = grants.exclude(pk__in=active)
        return grants


# --- Data subject requests and retention -----------------------------------------------


class FootprintPeriodForm(forms.Form):
    """The period of a footprint; either end may be left open (default: all time)."""

    since = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[FILTER_DATE],
        label=_("Since"),
    )
    until = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[FILTER_DATE],
        label=_("Until"),
    )

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("The period ends before it starts."))
        return data

    def period(self) -> dict:
        """Whole days in the site's time zone: from the start of ``since`` to the end of
        ``until``."""
        data = self.cleaned_data
        since = data.get("since")
        until = data.get("until")
        return {
            "since": start_of_day(since) if since else None,
            "until": end_of_day(until) if until else None,
        }


class CustomerSearchForm(forms.Form):
    q = forms.CharField(
        required=False, max_length=200, label=_("E-mail, name or customer id"), strip=True
    )


class SubjectRequestForm(forms.Form):
    type = forms.ChoiceField(choices=SubjectRequestType.choices, label=_("Type"))
    customer = forms.IntegerField(min_value=1, label=_("Customer id"))
    identity_verification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        label=_("Identity verification"),
        help_text=_(
            "How you verified that the requester is this customer. Required before any work starts."
        ),
    )
    received_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label=_("Received on"),
        help_text=_("Empty: today. The answer is due one month later."),
    )
    received_via = forms.ChoiceField(
        choices=ReceivedVia.choices, initial=ReceivedVia.EMAIL, label=_("Received via")
    )
    purposes = forms.ModelMultipleChoiceField(
        queryset=Purpose.objects.filter(active=True).order_by("key"),
        required=False,
        to_field_name="key",
        label=_("Purposes"),
        help_text=_("Objections only: the purposes objected to; a withdrawal is recorded at once."),
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Notes")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        group_by_name(self.fields["purposes"])


class SubjectRequestExtendForm(forms.Form):
    months = forms.TypedChoiceField(
        choices=[(1, _("1 month")), (2, _("2 months"))], coerce=int, label=_("Months")
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        label=_("Reason"),
        help_text=_("Why more time is needed; the customer must be told within the first month."),
    )


class SubjectRequestCloseForm(forms.Form):
    response = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        label=_("Answer given to the customer"),
    )


class ErasureConfirmForm(forms.Form):
    note = forms.CharField(
        required=False,
        max_length=2000,
        label=_("What was deleted where"),
        widget=forms.TextInput(attrs={"placeholder": _("e.g. deleted from the CRM on 3 May")}),
    )


class RetentionExtendForm(forms.Form):
    retention_date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), label=_("Retention date")
    )
    reason = forms.CharField(max_length=2000, label=_("Why it must be kept longer"))


class RetentionDeleteForm(forms.Form):
    reason = forms.CharField(max_length=2000, label=_("How and where the data was deleted"))


class ReviewStartForm(forms.Form):
    """Compliance starts an access review (``access_reviews.review_start``)."""

    name = forms.CharField(
        max_length=200, label=_("Name"), help_text=_("For example “Q3 2026 customer data”.")
    )
    due_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        label=_("Due on"),
        help_text=_("The campaign closes at the end of this day (site time)."),
    )
    undecided_outcome = forms.ChoiceField(
        choices=ReviewDecision.choices, label=_("Grants nobody decided, at the due date")
    )
    repeat = forms.ChoiceField(choices=ReviewRepeat.choices, label=_("Repeat"))
    unused_days = forms.IntegerField(
        min_value=1,
        max_value=365,
        initial=DEFAULT_UNUSED_DAYS,
        label=_("Recommend revoking after days unused"),
    )
    classification = forms.ChoiceField(
        choices=[("", _("Any classification")), *Classification.choices],
        required=False,
        label=_("Classification"),
    )
    asset = forms.ModelChoiceField(
        queryset=DataAsset.objects.order_by("name"),
        required=False,
        empty_label=_("Any asset"),
        label=_("Asset"),
    )
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True),
        to_field_name="username",
        widget=forms.TextInput,
        required=False,
        label=_("Owner (username)"),
        error_messages={"invalid_choice": _("No active user has this username.")},
    )
    purpose = forms.ModelChoiceField(
        queryset=Purpose.objects.filter(active=True).order_by("key"),
        to_field_name="key",
        required=False,
        empty_label=_("Any purpose"),
        label=_("Purpose"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        group_by_name(self.fields["purpose"])

    def review_settings(self) -> ReviewSettings:
        data = self.cleaned_data
        return ReviewSettings(
            name=data["name"],
            due_at=end_of_day(data["due_on"]),
            undecided_outcome=data["undecided_outcome"],
            repeat=data["repeat"],
            unused_days=data["unused_days"],
            scope=ReviewScope(
                classification=data["classification"],
                asset=data["asset"],
                owner=data["owner"],
                purpose=data["purpose"],
            ),
        )


class ReviewDecideForm(forms.Form):
    decision = forms.ChoiceField(choices=ReviewDecision.choices, label=_("Decision"))
    reason = forms.CharField(
        max_length=2000, label=_("Reason"), help_text=_("Why this access stays or ends.")
    )
