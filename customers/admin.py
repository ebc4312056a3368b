from django.contrib import admin
from guardian.admin import GuardedModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from customers.models import Customer, DataAsset
from portal.input_limits import EARLIEST_EVENT, DateWindow, VisibleText


class InputLimitsAdmin(admin.ModelAdmin):
    """Adds ``field_validators`` (field name -> validators) to the admin's form fields.

    The limits sit on the admin's forms, not the models: a model validator would need a
    migration of customers, and the portal's own doors go through the services, which check
    the same limits (``portal.input_limits``)."""

    field_validators: dict = {}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None:
            field.validators = [*field.validators, *self.field_validators.get(db_field.name, [])]
        return field


@admin.register(Customer)
class CustomerAdmin(InputLimitsAdmin, SimpleHistoryAdmin):
    list_display = ["name", "email", "organisation", "country"]
    search_fields = ["name", "email", "organisation"]
    field_validators = {
        "name": [VisibleText("The name")],
        "organisation": [VisibleText("The organisation")],
    }

    def has_delete_permission(self, request, obj=None):
        # Customers are never deleted: an erasure is a data subject request, which removes
        # them from every asset with history, keeps the assets' counts and the cached
        # coverage right, and leaves the consent evidence (issue 12).
        return False


@admin.register(DataAsset)
class DataAssetAdmin(InputLimitsAdmin, GuardedModelAdmin, SimpleHistoryAdmin):
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
    field_validators = {
        "name": [VisibleText("The asset's name")],
        "source_system": [VisibleText("The source system")],
        "retention_date": [DateWindow(EARLIEST_EVENT, what="The retention date")],
    }
