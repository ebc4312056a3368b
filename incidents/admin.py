"""Admin: the notification regimes' text (name, legal source), read-only otherwise.

The duties' offsets, anchors and reminders are the legal clocks of every incident (GDPR
Art. 33's 72 hours): a business rule, not an operator's setting. They change with the code
that loads them (the data migration ``incidents/0002_notification_regimes``), reviewed.
Incidents are not in the admin at all: they are for Compliance and Legal, in the portal.
"""

from django.contrib import admin

from incidents.models import Regime, RegimeDuty
from portal.admin import ReadOnlyFieldsAdmin


class RegimeDutyInline(admin.TabularInline):
    model = RegimeDuty
    extra = 0
    fk_name = "regime"
    fields = [
        "position",
        "key",
        "name",
        "anchor",
        "anchor_duty",
        "offset_hours",
        "offset_months",
        "latest_hours_after_awareness",
        "reminder_hours_before_due",
        "source",
    ]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Regime)
class RegimeAdmin(ReadOnlyFieldsAdmin):
    list_display = ["name", "key", "applies_to_breaches", "active"]
    inlines = [RegimeDutyInline]
    editable_fields = ("name", "source")

    def has_delete_permission(self, request, obj=None):
        return False
