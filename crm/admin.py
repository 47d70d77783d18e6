from django.contrib import admin

from crm.models import Contact, Meeting, Task


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "account", "owner", "created_at"]
    search_fields = ["email", "first_name", "last_name", "account__name"]
    list_select_related = ["account", "owner"]
    autocomplete_fields = ["account", "owner"]


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = ["title", "start", "owner", "account", "source", "status"]
    list_filter = ["source", "status"]
    search_fields = ["title", "owner__email", "contacts__email", "calendar_remote_id"]
    list_select_related = ["account", "owner"]
    autocomplete_fields = ["account", "owner", "contacts"]
    date_hierarchy = "start"


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "due_at", "status", "owner", "contact", "account"]
    list_filter = ["status"]
    search_fields = ["title", "owner__email", "contact__email"]
    list_select_related = ["account", "owner", "contact"]
    autocomplete_fields = ["account", "owner", "contact"]
