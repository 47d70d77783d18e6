from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = "Scheduling pages and bookings"

    def ready(self) -> None:
        from calendars import settings_page
        from crm import links
        from meetings.crm_links import SchedulingPageLinks
        from meetings.receivers import on_availability_changed
        from meetings.settings_section import MeetingLinksSection
        from scheduler.availability_cache import availability_changed

        settings_page.register(MeetingLinksSection())
        links.register(SchedulingPageLinks())
        availability_changed.connect(on_availability_changed, dispatch_uid="meetings.pages")
