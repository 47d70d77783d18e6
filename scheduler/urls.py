from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from scheduler import admin_access, views
from scheduler.api.views import openapi
from scheduler.health import healthz

settings_patterns = (
    [
        path("", RedirectView.as_view(pattern_name="settings:general"), name="index"),
        path("general/", views.settings_general, name="general"),
        path("users/", views.settings_users, name="users"),
        path("users/<int:user_id>/", views.settings_user_update, name="user_update"),
        path("domains/", views.settings_domains, name="domains"),
        path("domains/<int:domain_id>/verify/", views.settings_domain_verify, name="domain_verify"),
        path("domains/<int:domain_id>/robots/", views.settings_domain_robots, name="domain_robots"),
        path("domains/<int:domain_id>/delete/", views.settings_domain_delete, name="domain_delete"),
        path("general/calendar/", include("calendars.urls")),
        path("general/working-hours/", include("meetings.settings_urls")),
    ],
    "settings",
)

admin_access.secure(admin.site)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("api/openapi.json", openapi, name="openapi"),
    path("", include("meetings.site_urls")),
    path("webhooks/calendar/", include("calendars.webhook_urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("app/settings/", include(settings_patterns)),
    path("app/meetings/", include("meetings.urls")),
    path("meetings/", include("meetings.public_urls")),
    path("app/contacts/", include("crm.urls")),
    path("app/conversations/", include("chat.urls")),
    path("app/settings/chat/", include("chat.settings_urls")),
    path("chat/", include("chat.public_urls")),
]
