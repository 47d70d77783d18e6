from django.contrib import admin

from calendars.models import Calendar, CalendarConnection, CalendarWrite, Event


@admin.register(CalendarConnection)
class CalendarConnectionAdmin(admin.ModelAdmin):
    list_display = ["account_email", "provider", "user", "status", "last_synced_at", "next_sync_at"]
    list_filter = ["provider", "status"]
    search_fields = ["account_email", "user__email"]
    # Credentials never appear in the admin, not even encrypted.
    exclude = ["credentials_json"]
    readonly_fields = ["sync_lease_owner", "sync_lease_until", "last_error", "last_error_at"]


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "connection", "access", "is_primary", "is_active", "for_availability"]
    list_filter = ["access", "is_active", "is_task_calendar"]
    search_fields = ["name", "connection__account_email"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "calendar", "start", "end", "busy"]
    list_filter = ["busy", "all_day"]
    search_fields = ["title", "remote_id"]
    raw_id_fields = ["calendar"]


@admin.register(CalendarWrite)
class CalendarWriteAdmin(admin.ModelAdmin):
    list_display = ["action", "key", "connection", "state", "attempts", "next_attempt_at", "ref"]
    list_filter = ["action", "state"]
    search_fields = ["key", "ref"]
    raw_id_fields = ["connection", "calendar"]
