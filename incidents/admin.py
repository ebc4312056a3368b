"""Admin: the notification regimes are data compliance may edit here (offsets, reminders).

Incidents are worked in the portal, not here: an administrator holds no business permission,
so the admin shows incidents read-only and never shows the reporter.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from incidents.models import Incident, Regime, RegimeDuty


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


@admin.register(Regime)
class RegimeAdmin(SimpleHistoryAdmin):
    list_display = ["name", "key", "applies_to_breaches", "active"]
    inlines = [RegimeDutyInline]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["reference", "title", "status", "severity", "reported_at"]
    list_filter = ["status", "severity"]
    fields = ["reference", "title", "status", "severity", "reported_at", "discovered_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
