"""Site-wide paths the meetings app answers (on the app host and on custom domains)."""

from django.urls import path

from meetings import tls
from meetings.public_views import robots

urlpatterns = [
    path("robots.txt", robots, name="robots"),
    path("tls/ask", tls.ask, name="tls_ask"),
]
