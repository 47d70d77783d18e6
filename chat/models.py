from django.conf import settings
from django.db import models

from meetings.models import SchedulingPage


class ChatProfile(models.Model):
    """What the chat window shows for this user: optionally a link to book a meeting."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_profile"
    )
    include_meeting_link = models.BooleanField(default=False)
    meeting_page = models.ForeignKey(
        SchedulingPage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"Chat profile of {self.user}"
