from django.contrib import admin

from meetings.models import (
    Booking,
    HostReservation,
    MeetingSettings,
    PageMember,
    PlannedEmail,
    SchedulingPage,
    WorkingHours,
)


class PageMemberInline(admin.TabularInline):
    model = PageMember
    extra = 0


@admin.register(SchedulingPage)
class SchedulingPageAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "owner", "account", "is_active", "deleted_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "slug", "owner__email"]
    inlines = [PageMemberInline]

    def get_queryset(self, request):
        return SchedulingPage.all_objects.all()


class ReservationInline(admin.TabularInline):
    model = HostReservation
    extra = 0


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["page", "host", "start", "status", "email"]
    list_filter = ["status"]
    search_fields = ["email", "last_name", "page__slug"]
    exclude = ["manage_token"]  # the contact's secret link
    inlines = [ReservationInline]


@admin.register(MeetingSettings)
class MeetingSettingsAdmin(admin.ModelAdmin):
    list_display = ["user", "url_prefix", "pages_enabled", "domain"]
    search_fields = ["user__email", "url_prefix"]


@admin.register(WorkingHours)
class WorkingHoursAdmin(admin.ModelAdmin):
    list_display = ["user", "timezone", "updated_at"]
    search_fields = ["user__email"]


@admin.register(PlannedEmail)
class PlannedEmailAdmin(admin.ModelAdmin):
    list_display = ["booking", "kind", "label", "due_at", "state", "sent_at"]
    list_filter = ["kind", "state"]
    raw_id_fields = ["booking", "email"]
