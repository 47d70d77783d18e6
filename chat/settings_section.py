"""The chat profile part of Settings > General > Calendar (registered by ChatConfig)."""

from django import forms

from chat.models import ChatProfile
from meetings.models import SchedulingPage


class ChatProfileForm(forms.ModelForm):
    photo_url = forms.URLField(
        label="Photo (https:// address)",
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=ChatProfile._meta.get_field("photo_url").help_text,
    )

    class Meta:
        model = ChatProfile
        fields = [
            "display_name",
            "welcome_message",
            "photo_url",
            "include_meeting_link",
            "meeting_page",
        ]
        labels = {
            "display_name": "Name in the chat window",
            "welcome_message": "Welcome line",
            "photo_url": "Photo (https:// address)",
            "include_meeting_link": "Include a meeting booking link in the chat window",
            "meeting_page": "Scheduling page for the chat",
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting_page"].queryset = SchedulingPage.objects.filter(owner=user)
        self.fields["meeting_page"].empty_label = "Choose a page"
        self.fields["display_name"].widget.attrs["placeholder"] = user.display_name

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("include_meeting_link") and not cleaned.get("meeting_page"):
            self.add_error("meeting_page", "Choose which scheduling page the chat links to.")
        return cleaned


class ChatProfileSection:
    key = "chat-profile"
    order = 30
    template = "chat/settings_section.html"

    def form(self, user, data):
        profile = ChatProfile.objects.filter(user=user).first() or ChatProfile(user=user)
        return ChatProfileForm(data, instance=profile, user=user, prefix="chat")

    def save(self, user, form) -> None:
        form.save()
