from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms

from crm import links, placeholders
from crm.models import Contact, EmailTemplate

DEFAULT_DUE_TIME = time(9, 0)


EARLIEST, LATEST = date(1900, 1, 1), date(9000, 1, 1)


def to_utc(day: date, moment: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time in `zone` as aware UTC; ValueError for a time the clocks skip or a
    date too far out to compute with."""
    if not EARLIEST <= day < LATEST:
        raise ValueError("Pick a date between 1900 and 9000.")
    local = datetime.combine(day, moment, tzinfo=zone)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValueError(f"{moment:%H:%M} does not exist on {day:%b %d} in {zone.key}.")
    return utc


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["email", "first_name", "last_name", "company"]


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["name", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 12})}
        help_texts = {
            "body": "Placeholders like {{ contact.first_name }} are filled in for each contact "
            "when you send. {{ meeting_link }} becomes your default meeting link.",
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def _check_placeholders(self, text: str) -> str:
        unknown = placeholders.unknown(text)
        if unknown:
            allowed = ", ".join(placeholders.token(name) for name in placeholders.FIELDS)
            raise forms.ValidationError(f"Unknown placeholder {unknown[0]}. Use one of: {allowed}.")
        for page_id in placeholders.page_ids(text):
            if links.provider().page_link(self.user, page_id) is None:
                raise forms.ValidationError(
                    f"{placeholders.token('meeting_link', page_id)} is not one of your "
                    "scheduling pages."
                )
        return text

    def clean_subject(self) -> str:
        subject = self._check_placeholders(self.cleaned_data["subject"])
        if "\n" in subject or "\r" in subject:
            raise forms.ValidationError("The subject must be one line.")
        return subject

    def clean_body(self) -> str:
        return self._check_placeholders(self.cleaned_data["body"])


class SendEmailForm(forms.Form):
    template = forms.ModelChoiceField(queryset=EmailTemplate.objects.none(), empty_label=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = EmailTemplate.objects.filter(owner=user)


class MeetingForm(forms.Form):
    """A meeting on a contact record; times are in the signed-in user's time zone."""

    title = forms.CharField(max_length=255)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    duration = forms.IntegerField(
        label="Duration (minutes)", min_value=5, max_value=24 * 60, initial=30
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, zone: ZoneInfo, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.fields["start_time"].help_text = f"In your time zone, {zone.key}."

    def clean(self) -> dict:
        data = super().clean()
        if {"date", "start_time", "duration"} <= data.keys():
            try:
                data["start"] = to_utc(data["date"], data["start_time"], self.zone)
            except ValueError as exc:
                self.add_error("start_time", str(exc))
            else:
                data["end"] = data["start"] + timedelta(minutes=data["duration"])
        return data


class TaskForm(forms.Form):
    title = forms.CharField(max_length=255)
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due_time = forms.TimeField(
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text="Optional. A due date without a time means 09:00.",
    )

    def __init__(self, *args, zone: ZoneInfo, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone

    def clean(self) -> dict:
        data = super().clean()
        day, moment = data.get("due_date"), data.get("due_time")
        data["due_at"] = None
        if moment and not day and "due_date" not in self.errors:
            self.add_error("due_date", "Give the date the task is due.")
        elif day:
            try:
                data["due_at"] = to_utc(day, moment or DEFAULT_DUE_TIME, self.zone)
            except ValueError as exc:
                self.add_error("due_time", str(exc))
        return data
