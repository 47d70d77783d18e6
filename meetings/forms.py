import re
from datetime import timedelta

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone

from meetings import hours, reminders, routing
from meetings.booking import Visitor
from meetings.models import SLUG_PATTERN, PageMember, SchedulingPage, WorkingHours
from scheduler import availability_cache, inputs

NO_CONTROL_CHARACTERS = RegexValidator(
    r"^[^\x00-\x1f\x7f]*$", "Use letters, spaces and punctuation only (no line breaks)."
)


class RescheduleForm(forms.Form):
    """`POST /meetings/manage/<token>/reschedule`."""

    start = inputs.AwareDateTimeField()


class CancelForm(forms.Form):
    """The contact's confirmation of a cancellation, with the reason the page asks for."""

    reason = forms.CharField(
        label="Why are you cancelling?",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Sent to the host.",
    )

    def __init__(self, data=None, *, booking):
        super().__init__(data)
        from meetings import policies

        if booking.is_request or not policies.reason_asked(booking.page):
            del self.fields["reason"]
        elif policies.reason_required(booking.page):
            self.fields["reason"].required = True
            self.fields["reason"].error_messages["required"] = "Please tell the host why."

    def clean_reason(self) -> str:
        reason = self.cleaned_data.get("reason", "").strip()
        if problem := inputs.text_problem(reason):
            raise forms.ValidationError(problem)
        return reason


class SlotsQueryForm(forms.Form):
    """`GET /meetings/<slug>/slots`: a window of local days, a time zone, a duration."""

    MAX_RANGE_DAYS = 62

    start = forms.DateField(input_formats=["%Y-%m-%d"])
    end = forms.DateField(input_formats=["%Y-%m-%d"])
    tz = inputs.TimezoneNameField(required=False)
    duration = forms.IntegerField(required=False, min_value=1, max_value=24 * 60)
    # A manage link's token: the times that booking can move to.
    reschedule = forms.CharField(required=False, max_length=64, validators=[inputs.validate_text])

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
    answers = inputs.ObjectField(required=False)

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
        clean = {}
        for question in self.page.questions:
            label = question["label"]
            answer = answers.get(label)
            answer = "" if answer is None else answer
            if not isinstance(answer, str | int | float) or isinstance(answer, bool):
                raise forms.ValidationError(f"Answer “{label}” with text.")
            answer = str(answer).strip()
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


UNIT_CHOICES = [("minutes", "minutes"), ("hours", "hours"), ("days", "days")]


def _minutes_field(label: str, help_text: str = "", maximum: int = 60 * 24 * 60):
    return forms.IntegerField(
        label=label, min_value=0, max_value=maximum, initial=0, help_text=help_text
    )


class PageForm(forms.ModelForm):
    """The page editor. The weekly hours come from the visual editor (meetings.hours), the
    hosts from a member list with a weight and a rotation switch each (round robin)."""

    video_link = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Fixed video link",
        help_text="Used when “A fixed video link” is chosen above.",
    )
    durations_text = forms.CharField(
        label="Durations (minutes)", initial="30", help_text="One or more, like 15, 30, 60."
    )
    overrides_text = forms.CharField(
        label="Date overrides",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=hours.OVERRIDES_HELP,
    )
    questions_text = forms.CharField(
        label="Custom questions",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line; end with * to make it required. First name, last name and "
        "email are always asked. Answers are saved on the contact's CRM meeting.",
    )
    members = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Hosts",
        help_text="Group and round robin pages: who else hosts (you always do).",
    )

    class Meta:
        model = SchedulingPage
        fields = [
            "name",
            "slug",
            "kind",
            "location",
            "conferencing",
            "video_link",
            "timezone",
            "hours_source",
            "routing",
            "buffer_before",
            "buffer_after",
            "min_notice",
            "max_advance_days",
            "increment",
            "daily_max",
            "confirmation_message",
            "allow_reschedule",
            "allow_cancel",
            "reschedule_notice",
            "cancel_notice",
            "cancel_reason",
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
            "conferencing": "Video conferencing",
            "hours_source": "Whose hours",
            "routing": "Round robin",
            "reschedule_notice": "Rescheduling closes (minutes before the meeting)",
            "cancel_notice": "Cancelling closes (minutes before the meeting)",
            "cancel_reason": "Reason for cancelling",
        }
        help_texts = {
            "hours_source": "Group and round robin pages: with each host's own hours, a group "
            "meeting is offered when everyone's hours and calendars overlap, a round robin "
            "meeting when anyone's do. Hosts set their hours in Settings > General > "
            "Working hours.",
            "routing": "Availability: the booking goes to the free host furthest behind their "
            "weighted share among those who were free. Equal distribution: hosts who were "
            "busy or away catch up when they are free again. Members added later count from "
            "the day they joined.",
            "conferencing": "Google Meet and Teams links are created in the host's calendar "
            "with each booking and sent to the contact.",
            "reschedule_notice": "0: until the meeting starts.",
            "cancel_notice": "0: until the meeting starts.",
        }
        widgets = {"confirmation_message": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from scheduler.forms import timezone_choices

        self.user = user
        self._original_slug = self.instance.slug or ""
        self.fields["timezone"] = forms.ChoiceField(
            choices=timezone_choices, initial=user.timezone, label="Time zone"
        )
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Left empty, it comes from your meeting URL."
        for name in ("reschedule_notice", "cancel_notice"):
            self.fields[name].min_value = 0
        people = user.account.users.filter(is_active=True).order_by("full_name", "email")
        self.people = list(people)
        self.fields["members"].queryset = people.exclude(pk=user.pk)
        if self.instance.pk:
            self.initial.setdefault(
                "members", [m for m in self.instance.members.all() if m != user]
            )
        self.memberships = routing.memberships(self.instance) if self.instance.pk else {}
        for person in self.people:
            row = self.memberships.get(person.pk)
            self.fields[f"weight_{person.pk}"] = forms.IntegerField(
                label=f"Weight of {person.display_name}",
                min_value=1,
                max_value=100,
                initial=row.weight if row else 1,
                required=False,
            )
            self.fields[f"rotation_{person.pk}"] = forms.BooleanField(
                label=f"{person.display_name} is in the rotation",
                initial=row.in_rotation if row else True,
                required=False,
            )
        self._reminder_fields()
        data = args[0] if args else kwargs.get("data")
        self.hours = hours.WeeklyHoursEditor(
            data, initial=self.instance.weekly_hours, prefix="hours"
        )
        self.initial.setdefault("durations_text", ", ".join(map(str, self.instance.durations)))
        self.initial.setdefault(
            "overrides_text", hours.format_overrides(self.instance.date_overrides)
        )
        self.initial.setdefault(
            "questions_text",
            "\n".join(
                q["label"] + ("*" if q.get("required") else "") for q in self.instance.questions
            ),
        )

    def _reminder_fields(self) -> None:
        planned = reminders.offsets(self.instance.reminders)
        for n in range(1, reminders.MAX_REMINDERS + 1):
            current = planned[n - 1] if n <= len(planned) else None
            self.fields[f"reminder_{n}_amount"] = forms.IntegerField(
                label=f"Reminder {n}",
                min_value=1,
                max_value=999,
                required=False,
                initial=current.amount if current else None,
            )
            self.fields[f"reminder_{n}_unit"] = forms.ChoiceField(
                label=f"Reminder {n} unit",
                choices=UNIT_CHOICES,
                initial=current.unit if current else "hours",
                required=False,
            )

    def member_rows(self):
        """(person, checkbox or None for the owner, weight field, rotation field)."""
        boxes = {int(str(box.data["value"])): box for box in self["members"]}
        return [
            (
                person,
                boxes.get(person.pk),
                self[f"weight_{person.pk}"],
                self[f"rotation_{person.pk}"],
            )
            for person in self.people
        ]

    def reminder_rows(self):
        return [
            (self[f"reminder_{n}_amount"], self[f"reminder_{n}_unit"])
            for n in range(1, reminders.MAX_REMINDERS + 1)
        ]

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
        return hours.parse_overrides(self.cleaned_data["overrides_text"])

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
        if self.hours.is_valid():
            cleaned["weekly_hours"] = self.hours.cleaned
        else:
            self.add_error(None, "Check the weekly hours: " + " ".join(self.hours.errors))
        cleaned["reminders"] = self._clean_reminders()
        self._clean_conferencing(cleaned)
        self._clean_rotation(cleaned)
        return cleaned

    def _clean_reminders(self) -> list[dict]:
        found = []
        for n in range(1, reminders.MAX_REMINDERS + 1):
            amount = self.cleaned_data.get(f"reminder_{n}_amount")
            unit = self.cleaned_data.get(f"reminder_{n}_unit") or "hours"
            if not amount:
                continue
            if amount * reminders.UNITS[unit] > 30 * 24 * 60:
                self.add_error(f"reminder_{n}_amount", "Reminders go at most 30 days ahead.")
                continue
            found.append({"amount": amount, "unit": unit})
        if len({(r["amount"] * reminders.UNITS[r["unit"]]) for r in found}) < len(found):
            self.add_error("reminder_1_amount", "Two reminders are set for the same time.")
        return sorted(found, key=lambda r: -r["amount"] * reminders.UNITS[r["unit"]])

    def _clean_conferencing(self, cleaned) -> None:
        kind = cleaned.get("conferencing")
        if kind == SchedulingPage.Conferencing.FIXED and not cleaned.get("video_link"):
            self.add_error("video_link", "Give the link contacts join with.")
        if kind in (SchedulingPage.Conferencing.GOOGLE_MEET, SchedulingPage.Conferencing.TEAMS):
            from calendars import conferencing as calendar_conferencing

            connection = self.user.calendar_connections.first()
            if connection is not None and not calendar_conferencing.supports(connection, kind):
                label = SchedulingPage.Conferencing(kind).label.split(" (")[0]
                self.add_error(
                    "conferencing",
                    f"Your {connection.get_provider_display()} calendar cannot create "
                    f"{label} links; choose another option or a fixed link.",
                )

    def _clean_rotation(self, cleaned) -> None:
        if cleaned.get("kind") != SchedulingPage.Kind.ROUND_ROBIN:
            return
        hosts = [self.user, *(cleaned.get("members") or [])]
        if not any(cleaned.get(f"rotation_{host.pk}") for host in hosts):
            self.add_error("members", "Keep at least one host in the rotation.")

    def save(self, commit=True):
        page = super().save(commit=False)
        data = self.cleaned_data
        page.weekly_hours = data["weekly_hours"]
        page.durations = data["durations_text"]
        page.date_overrides = data["overrides_text"]
        page.questions = data["questions_text"]
        page.reminders = data["reminders"]
        if not page.pk:
            page.owner, page.account = self.user, self.user.account
        if commit:
            page.save()
            self._save_members(page)
            availability_cache.bump(page.host_ids())
            # Hosts removed from the page and a renamed page's old address: no stale slots.
            availability_cache.bump_pages({self._original_slug, page.slug} - {""})
        return page

    def _save_members(self, page: SchedulingPage) -> None:
        hosts = {self.user.pk, *(member.pk for member in self.cleaned_data["members"])}
        PageMember.objects.filter(page=page).exclude(user_id__in=hosts).delete()
        existing = {row.user_id: row for row in PageMember.objects.filter(page=page)}
        for host_id in hosts:
            row = existing.get(host_id) or PageMember(page=page, user_id=host_id)
            row.weight = self.cleaned_data.get(f"weight_{host_id}") or 1
            row.in_rotation = bool(self.cleaned_data.get(f"rotation_{host_id}"))
            row.save()


class WorkingHoursForm(forms.Form):
    """A user's own working hours (Settings > General > Working hours)."""

    timezone = forms.ChoiceField(label="Time zone")
    overrides_text = forms.CharField(
        label="Days off and other hours",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=hours.OVERRIDES_HELP,
    )

    def __init__(self, data=None, *, user):
        from scheduler.forms import timezone_choices

        self.user = user
        self.instance = WorkingHours.objects.filter(user=user).first() or WorkingHours(
            user=user, timezone=user.timezone
        )
        super().__init__(
            data,
            initial={
                "timezone": self.instance.timezone,
                "overrides_text": hours.format_overrides(self.instance.date_overrides),
            },
        )
        self.fields["timezone"].choices = timezone_choices
        self.hours = hours.WeeklyHoursEditor(
            data, initial=self.instance.weekly_hours, prefix="hours"
        )

    def clean_overrides_text(self) -> dict:
        return hours.parse_overrides(self.cleaned_data["overrides_text"])

    def clean(self):
        cleaned = super().clean()
        if not self.hours.is_valid():
            self.add_error(None, "Check the weekly hours: " + " ".join(self.hours.errors))
        return cleaned

    def save(self) -> WorkingHours:
        row = self.instance
        row.timezone = self.cleaned_data["timezone"]
        row.weekly_hours = self.hours.cleaned
        row.date_overrides = self.cleaned_data["overrides_text"]
        row.save()
        availability_cache.bump([self.user.pk])
        return row


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
