"""The scheduling-page part of Settings > General > Calendar (registered by MeetingsConfig)."""

from django import forms
from django.db.models import Q

from meetings import urlrules
from meetings.models import MeetingSettings, SchedulingPage
from scheduler import availability_cache, plans


class MeetingLinksForm(forms.ModelForm):
    class Meta:
        model = MeetingSettings
        fields = ["url_prefix", "default_page", "domain", "pages_enabled"]
        labels = {
            "url_prefix": "Meeting URL",
            "default_page": "Default meeting link",
            "domain": "Meeting domain",
            "pages_enabled": "Scheduling pages are on",
        }
        help_texts = {
            "default_page": "The page inserted when a meeting link is added to a sales email "
            "template.",
            "domain": "Host your scheduling pages on one of your connected domains. Changing it "
            "updates every meeting link.",
            "pages_enabled": "Turn this off to make every one of your scheduling pages unavailable "
            "without deleting any; turn it on to bring them back as they were.",
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.url_gate = plans.meeting_url_editing(user.account)
        self.user = user
        if not self.url_gate:
            self.fields["url_prefix"].widget.attrs["disabled"] = True
            self.fields["url_prefix"].help_text = self.url_gate.reason
            self.fields["url_prefix"].required = False
        self.fields["default_page"].queryset = SchedulingPage.objects.filter(owner=user)
        self.fields["default_page"].empty_label = "None"
        # Only connected domains are offered (SPEC §1.7); one that was chosen and has since
        # been disconnected stays selectable so saving other settings does not fail on it.
        chosen = Q(pk=self.instance.domain_id) if self.instance.domain_id else Q()
        self.fields["domain"].queryset = user.account.domains.filter(Q(verified=True) | chosen)
        self.fields["domain"].empty_label = "This app's own address"
        self.links = {"base_url": urlrules.base_url(user.pk)}

    def clean_url_prefix(self) -> str:
        current = self.instance.url_prefix
        value = (self.cleaned_data.get("url_prefix") or "").strip().lower()
        if not self.url_gate:
            if value and value != current:
                raise forms.ValidationError(self.url_gate.reason)
            return current
        if value != current and urlrules.prefix_taken(value, self.user.pk):
            raise forms.ValidationError("This meeting URL is already taken. Try another one.")
        return value


class MeetingLinksSection:
    key = "meeting-links"
    order = 20
    template = "meetings/settings_section.html"

    def form(self, user, data):
        return MeetingLinksForm(
            data, instance=urlrules.settings_for(user), user=user, prefix="meetings"
        )

    def save(self, user, form) -> None:
        form.save()
        if "pages_enabled" in form.changed_data:  # every page of theirs turns on or off
            availability_cache.bump([user.pk])
