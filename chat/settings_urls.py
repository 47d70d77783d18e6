from django.urls import path

from chat import views

app_name = "chat_settings"
urlpatterns = [
    path("", views.widget_settings, name="widget"),
]
