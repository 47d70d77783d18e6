from django.urls import path

from calendars.webhooks import receive

urlpatterns = [path("<str:provider>/", receive, name="calendar_webhook")]
