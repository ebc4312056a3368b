from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from consent.models import DataCategory, Purpose


@admin.register(Purpose)
class PurposeAdmin(SimpleHistoryAdmin):
    list_display = ["key", "name", "lawful_basis", "active"]
    list_filter = ["lawful_basis", "active"]
    search_fields = ["key", "name"]


@admin.register(DataCategory)
class DataCategoryAdmin(SimpleHistoryAdmin):
    list_display = ["key", "name", "active"]
    search_fields = ["key", "name"]
