import re
from datetime import datetime, timedelta

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone

from meetings.booking import Visitor
from meetings.models import SLUG_PATTERN, SchedulingPage
from scheduler import availability_cache, inputs

NO_CONTROL_CHARACTERS = RegexValidator(
    r"^[^\x00-\x1f\x7f]*$", "Use letters, spaces and punctuation only (no line breaks)."
)


class RescheduleForm(forms.Form):
    """`POST /meetings/manage/<token>/reschedule`."""

    start = inputs.AwareDateTimeField()


class SlotsQueryForm(forms.Form):
    """`GET /meetings/<slug>/slots`: a window of local days, a time zone, a duration."""

    MAX_RANGE_DAYS = 62

    start = forms.DateField(input_formats=["%Y-%m-%d"])
    end = forms.DateField(input_formats=["%Y-%m-%d"])
    tz = inputs.TimezoneNameField(required=False)
    duration = forms.IntegerField(required=False, min_value=1, max_value=24 * 60)

    def __init__(self, data, *, page: SchedulingPage):
        super().__init__(data)
        self.page = page

    def clean_start(self):
        first = self.cleaned_data["start"]
        if not inputs.sane_day(first):
            raise forms.ValidationError("start must be within a year ago and ten years ahead.")
        return first

    def clean_duration(self) -> int:
        duration = self.cleaned_data.get("duration") or self.page.durations[0]
        if duration not in self.page.durations:
            offered = ", ".join(str(d) for d in self.page.durations)
            raise forms.ValidationError(f"Offered durations: {offered} minutes.")
        return duration

    def clean(self):
        data = super().clean()
        first, last = data.get("start"), data.get("end")
        limit = self.MAX_RANGE_DAYS
        if first and last and not first <= last <= first + timedelta(days=limit):
            self.add_error("end", f"end must be on or after start, and at most {limit} days later.")
        data["tz"] = data.get("tz") or self.page.timezone
        return data


def _text(max_length: int, **kwargs) -> forms.CharField:
    """A one-line text field a visitor fills in: storable as it is, no line breaks."""
    return forms.CharField(
        max_length=max_length, validators=[inputs.validate_text, NO_CONTROL_CHARACTERS], **kwargs
    )


class BookingForm(forms.Form):
    start = inputs.AwareDateTimeField()
    duration = forms.IntegerField(required=False, min_value=1, max_value=24 * 60)
    timezone = inputs.TimezoneNameField()
    first_name = _text(100)
    last_name = _text(100)
    # RFC 5321: an address (and the column that stores it) holds at most 254 characters.
    email = forms.EmailField(max_length=254)
    answers = forms.JSONField(required=False)

    def __init__(self, data, *, page: SchedulingPage):
        super().__init__(data)
        self.page = page

    def clean_duration(self) -> int:
        duration = self.cleaned_data.get("duration") or self.page.durations[0]
        if duration not in self.page.durations:
            offered = ", ".join(str(d) for d in self.page.durations)
            raise forms.ValidationError(f"Offered durations: {offered} minutes.")
        return duration

    def clean_answers(self) -> dict:
        answers = self.cleaned_data.get("answers") or {}
        if not isinstance(answers, dict):
            raise forms.ValidationError("answers must be an object of question: answer.")
        clean = {}
        for question in self.page.questions:
            label = question["label"]
            answer = str(answers.get(label, "")).strip()
            if len(answer) > 2000:
                raise forms.ValidationError(f"Keep the answer to “{label}” under 2000 characters.")
            if problem := inputs.text_problem(answer):
                raise forms.ValidationError(problem)
            if question.get("required") and not answer:
                raise forms.ValidationError(f"Please answer: {label}")
            if answer:
                clean[label] = answer
        return clean

    def visitor(self) -> Visitor:
        data = self.cleaned_data
        return Visitor(
            email=data["email"],
            first_name=data["first_name"].strip(),
            last_name=data["last_name"].strip(),
            timezone=data["timezone"],
            answers=data.get("answers") or {},
        )


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
HOURS_HELP = "Like 09:00-12:00, 13:00-17:00. Leave empty for a day off."


def parse_hours(text: str) -> list[list[str]]:
    """'09:00-12:00, 13:00-17:00' -> [["09:00", "12:00"], ["13:00", "17:00"]]."""
    intervals = []
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        try:
            start, end = (t.strip() for t in part.split("-"))
            start_t = datetime.strptime(start, "%H:%M").time()  # noqa: DTZ007 (wall-clock time)
            end_t = None if end == "24:00" else datetime.strptime(end, "%H:%M").time()  # noqa: DTZ007
        except ValueError:
            raise forms.ValidationError(f"“{part}” is not like 09:00-17:00.") from None
        if end_t is not None and end_t <= start_t:
            raise forms.ValidationError(f"“{part}” ends before it starts.")
        intervals.append(
            [start_t.strftime("%H:%M"), end if end_t is None else end_t.strftime("%H:%M")]
        )
    return intervals


def format_hours(intervals) -> str:
    return ", ".join(f"{start}-{end}" for start, end in intervals)


class PageForm(forms.ModelForm):
    video_link = forms.URLField(required=False, assume_scheme="https", label="Video link")
    durations_text = forms.CharField(
        label="Durations (minutes)", initial="30", help_text="One or more, like 15, 30, 60."
    )
    overrides_text = forms.CharField(
        label="Date overrides",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: 2026-12-24: off, or 2026-12-27: 10:00-14:00",
    )
    questions_text = forms.CharField(
        label="Custom questions",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line; end with * to make it required. First name, last name and "
        "email are always asked.",
    )

    class Meta:
        model = SchedulingPage
        fields = [
            "name",
            "slug",
            "kind",
            "members",
            "location",
            "video_link",
            "timezone",
            "buffer_before",
            "buffer_after",
            "min_notice",
            "max_advance_days",
            "increment",
            "daily_max",
            "confirmation_message",
            "allow_reschedule",
            "allow_cancel",
        ]
        labels = {
            "slug": "Page URL",
            "min_notice": "Minimum notice (minutes)",
            "buffer_before": "Buffer before (minutes)",
            "buffer_after": "Buffer after (minutes)",
            "max_advance_days": "How far ahead (days)",
            "increment": "Start-time increment (minutes)",
            "daily_max": "Daily maximum of meetings",
            "allow_reschedule": "Contacts may reschedule",
            "allow_cancel": "Contacts may cancel",
        }
        widgets = {"confirmation_message": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from scheduler.forms import timezone_choices

        self.user = user
        self._original_slug = self.instance.slug or ""
        self.fields["timezone"] = forms.ChoiceField(choices=timezone_choices, initial=user.timezone)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Left empty, it comes from your meeting URL."
        self.fields["members"].queryset = user.account.users.filter(is_active=True).exclude(
            pk=user.pk
        )
        self.fields["members"].required = False
        self.fields["members"].help_text = "Group and round robin pages: who else hosts."
        for index, day in enumerate(WEEKDAYS):
            self.fields[day] = forms.CharField(
                label=day.capitalize(), required=False, help_text=HOURS_HELP
            )
            self.initial.setdefault(
                day, format_hours(self.instance.weekly_hours.get(str(index), []))
            )
        self.initial.setdefault("durations_text", ", ".join(map(str, self.instance.durations)))
        self.initial.setdefault(
            "overrides_text",
            "\n".join(
                f"{day}: {format_hours(hours) or 'off'}"
                for day, hours in sorted(self.instance.date_overrides.items())
            ),
        )
        self.initial.setdefault(
            "questions_text",
            "\n".join(
                q["label"] + ("*" if q.get("required") else "") for q in self.instance.questions
            ),
        )

    def clean_slug(self) -> str:
        from meetings import urlrules

        slug = (self.cleaned_data.get("slug") or "").strip().lower()
        if slug and not re.fullmatch(SLUG_PATTERN, slug):
            raise forms.ValidationError(
                "Use lower-case letters, digits and hyphens (not at the start or end)."
            )
        if not slug:
            return self.instance.slug or urlrules.new_page_slug(
                self.user, self.cleaned_data.get("name") or "meeting"
            )
        if urlrules.slug_taken(slug, exclude_page_id=self.instance.pk):
            raise forms.ValidationError("This URL is taken (page URLs are unique on every domain).")
        return slug

    def clean_durations_text(self) -> list[int]:
        try:
            values = sorted(
                {
                    int(v)
                    for v in self.cleaned_data["durations_text"].replace(" ", "").split(",")
                    if v
                }
            )
        except ValueError:
            raise forms.ValidationError(
                "Use whole minutes separated by commas, like 15, 30."
            ) from None
        if not values or any(v < 5 or v > 8 * 60 for v in values):
            raise forms.ValidationError("Durations must be between 5 and 480 minutes.")
        return values

    def clean_overrides_text(self) -> dict:
        overrides = {}
        for line in filter(
            None, (x.strip() for x in self.cleaned_data["overrides_text"].splitlines())
        ):
            day, _, hours = line.partition(":")
            try:
                day_value = datetime.strptime(day.strip(), "%Y-%m-%d").date()  # noqa: DTZ007
            except ValueError:
                raise forms.ValidationError(
                    f"“{line}” does not start with a date like 2026-12-24."
                ) from None
            if not inputs.sane_day(day_value):
                raise forms.ValidationError(
                    f"“{line}”: pick a date within a year ago and ten years ahead."
                )
            hours = hours.strip()
            overrides[day_value.isoformat()] = (
                [] if hours.lower() in ("", "off") else parse_hours(hours)
            )
        return overrides

    def clean_questions_text(self) -> list[dict]:
        questions = []
        for line in filter(
            None, (x.strip() for x in self.cleaned_data["questions_text"].splitlines())
        ):
            required = line.endswith("*")
            questions.append({"label": line.rstrip("*").strip()[:200], "required": required})
        return questions

    def clean(self):
        cleaned = super().clean()
        weekly = {}
        for index, day in enumerate(WEEKDAYS):
            try:
                hours = parse_hours(cleaned.get(day) or "")
            except forms.ValidationError as exc:
                self.add_error(day, exc)
                continue
            if hours:
                weekly[str(index)] = hours
        cleaned["weekly_hours"] = weekly
        return cleaned

    def save(self, commit=True):
        page = super().save(commit=False)
        data = self.cleaned_data
        page.weekly_hours = data["weekly_hours"]
        page.durations = data["durations_text"]
        page.date_overrides = data["overrides_text"]
        page.questions = data["questions_text"]
        if not page.pk:
            page.owner, page.account = self.user, self.user.account
        if commit:
            page.save()
            self.save_m2m()
            availability_cache.bump(page.host_ids())
            # Hosts removed from the page and a renamed page's old address: no stale slots.
            availability_cache.bump_pages({self._original_slug, page.slug} - {""})
        return page


NO_NUL = RegexValidator(r"^[^\x00]*$", "Remove the NUL character.")


class ProposeTimeForm(forms.Form):
    """Another time for a meeting request, typed in the host's own time zone."""

    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(label="Start", widget=forms.TimeInput(attrs={"type": "time"}))
    message = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[NO_NUL],
        help_text="Sent to the contact with the proposal.",
    )

    def __init__(self, *args, zone, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.fields["start_time"].help_text = f"In your time zone, {zone.key}."

    def clean(self) -> dict:
        from crm.forms import to_utc

        data = super().clean()
        if {"date", "start_time"} <= data.keys():
            try:
                data["start"] = to_utc(data["date"], data["start_time"], self.zone)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
            if data["start"] <= timezone.now():
                self.add_error("date", "Pick a time in the future.")
        return data


class DeclineForm(forms.Form):
    message = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[NO_NUL],
        help_text="Optional; sent to the contact.",
    )
