from django.urls import path

from calendars import views

urlpatterns = [
    path("", views.calendar_settings, name="calendar"),
]
