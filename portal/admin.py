from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from portal.models import AuditEvent, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin, SimpleHistoryAdmin):
    fieldsets = DjangoUserAdmin.fieldsets + (("Portal", {"fields": ("time_zone",)}),)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, read-only: nobody adds, changes or deletes an event, not even a
    superuser (the model and, on PostgreSQL, a trigger refuse it anyway)."""

    list_display = ["id", "created_at", "actor_label", "action", "target_label", "channel", "ip"]
    list_filter = ["action", "channel", "created_at"]
    search_fields = ["actor_label", "action", "target_label", "request_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # no COUNT(*) over the whole trail on every page
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
