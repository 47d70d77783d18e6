from django.urls import path

from meetings import views

# Included under the "settings" namespace at /app/settings/general/working-hours/.
urlpatterns = [
    path("", views.working_hours, name="working_hours"),
]
