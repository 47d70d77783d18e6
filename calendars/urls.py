from django.urls import path

from calendars import views

# Included under the "settings" namespace at /app/settings/general/calendar/.
urlpatterns = [
    path("", views.calendar_settings, name="calendar"),
    path("connect/exchange/", views.connect_exchange, name="calendar_connect_exchange"),
    path("connect/<str:provider>/", views.connect_start, name="calendar_connect"),
    path("oauth/<str:provider>/callback/", views.oauth_callback, name="calendar_oauth_callback"),
    path(
        "connections/<int:connection_id>/disconnect/", views.disconnect, name="calendar_disconnect"
    ),
    path("calendars/<int:calendar_id>/remove/", views.remove_calendar, name="calendar_remove"),
]
