"""The widget's public paths under /chat/ (on the app's own host only)."""

from django.urls import path

from chat import widget_views

app_name = "chat_widget"
urlpatterns = [
    path("widget.js", widget_views.loader, name="loader"),
    path("w/<str:key>/", widget_views.frame, name="frame"),
    path("w/<str:key>/messages", widget_views.messages, name="messages"),
    path("w/<str:key>/contact", widget_views.contact, name="contact"),
    path("w/<str:key>/read", widget_views.read, name="read"),
    path("w/<str:key>/booking-link", widget_views.booking_link, name="booking_link"),
    path("w/<str:key>/book/<str:token>", widget_views.book, name="book"),
]
