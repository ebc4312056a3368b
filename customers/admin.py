from django.contrib import admin
from guardian.admin import GuardedModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from customers.emails import normalise_email
from customers.models import Customer, DataAsset


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "email", "organisation", "country"]
    search_fields = ["name", "email", "organisation"]

    def get_search_results(self, request, queryset, search_term):
        # Addresses are stored normalised: a search typed "Ola@BÜCHER.no" also finds them.
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if "@" in search_term:
            found |= queryset.filter(email__icontains=normalise_email(search_term))
        return found, may_have_duplicates

    def has_delete_permission(self, request, obj=None):
        # Customers are never deleted: an erasure is a data subject request, which removes
        # them from every asset with history, keeps the assets' counts and the cached
        # coverage right, and leaves the consent evidence (issue 12).
        return False


@admin.register(DataAsset)
class DataAssetAdmin(GuardedModelAdmin, SimpleHistoryAdmin):
    list_display = ["name", "owner", "classification", "classification_confirmed"]
    list_filter = ["classification", "classification_confirmed"]
    list_select_related = ["owner"]
    search_fields = ["name", "description"]
    # Classification changes go through the compliance officer's form in the portal, with
    # a reason; being an administrator confers no business permission (design.md).
    readonly_fields = [
        "classification",
        "classification_confirmed",
        "classification_reason",
        "classified_by",
        "classified_at",
    ]
    exclude = ["customers"]
    filter_horizontal = ["data_categories", "collected_for"]
