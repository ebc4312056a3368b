from django.contrib import admin
from guardian.admin import GuardedModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from customers.models import Customer, DataAsset
from portal.input_limits import EARLIEST_EVENT, DateWindow


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "email", "organisation", "country"]
    search_fields = ["name", "email", "organisation"]

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

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "retention_date":
            # The window on the admin's form, not the model: a model validator would need a
            # migration of customers. The portal's retention form goes through
            # asset_retention_extend, which checks the same limits.
            field.validators.append(RETENTION_DATE)
        return field


RETENTION_DATE = DateWindow(EARLIEST_EVENT, what="The retention date")
