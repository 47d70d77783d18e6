from django.contrib import admin

from meetings.models import Booking, HostReservation, MeetingSettings, SchedulingPage


@admin.register(SchedulingPage)
class SchedulingPageAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "owner", "account"]
    list_filter = ["kind"]
    search_fields = ["name", "slug", "owner__email"]
    filter_horizontal = ["members"]


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
