"""The taxonomy's text in the admin: names and descriptions of purposes and data categories.

A purpose's key, place in the tree, lawful basis and whether it is active decide who may be
used for what: they are read-only here, and the lawful basis changes through compliance's page
(``consent.lawful_basis``), with a reason. Consent records are evidence and never in the admin.
"""

from django.contrib import admin

from consent.models import DataCategory, Purpose
from portal.admin import ReadOnlyFieldsAdmin


@admin.register(Purpose)
class PurposeAdmin(ReadOnlyFieldsAdmin):
    list_display = ["key", "name", "lawful_basis", "active"]
    list_filter = ["lawful_basis", "active"]
    search_fields = ["key", "name"]
    editable_fields = ("name", "description")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DataCategory)
class DataCategoryAdmin(ReadOnlyFieldsAdmin):
    list_display = ["key", "name", "active"]
    search_fields = ["key", "name"]
    editable_fields = ("name", "description")

    def has_delete_permission(self, request, obj=None):
        return False
