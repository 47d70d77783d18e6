from django import forms

from calendars.models import Calendar, CalendarConnection
from scheduler import plans
from scheduler.models import User

# Values are server builds; the server's own answer wins over the pick.
EXCHANGE_VERSIONS = [
    ("", "Detect automatically"),
    ("14.2", "Exchange 2010 SP2"),
    ("14.3", "Exchange 2010 SP3"),
    ("15.0", "Exchange 2013"),
    ("15.1", "Exchange 2016"),
    ("15.2", "Exchange 2019"),
]


class ExchangeConnectForm(forms.Form):
    email = forms.EmailField(label="Email address")
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        help_text="If your mailbox uses two-factor sign-in, use an app password.",
    )
    username = forms.CharField(
        required=False,
        help_text="Optional. Often the part before @, or DOMAIN\\user.",
    )
    ews_url = forms.CharField(
        required=False,
        label="EWS URL",
        widget=forms.URLInput(attrs={"placeholder": "https://mail.example.com/EWS/Exchange.asmx"}),
        help_text="Optional. Left blank, https://mail.<your email domain>/EWS/Exchange.asmx "
        "is tried.",
    )
    version = forms.ChoiceField(choices=EXCHANGE_VERSIONS, required=False, label="Exchange version")
    accept = forms.BooleanField(
        label="I allow Meetings to read my calendars and to create and change events in them."
    )

    def clean_ews_url(self) -> str:
        url = self.cleaned_data["ews_url"].strip()
        if not url and self.cleaned_data.get("email"):
            url = f"https://mail.{self.cleaned_data['email'].split('@')[1]}/EWS/Exchange.asmx"
        return url


class AvailabilityChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, calendar: Calendar) -> str:
        return calendar.name


class ConnectionOptionsForm(forms.ModelForm):
    """The connection part of the Calendar settings page."""

    availability_calendars = AvailabilityChoiceField(
        queryset=Calendar.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Availability calendars",
        help_text="Contacts cannot book over events in any of these. "
        "Your main calendar always counts.",
    )

    class Meta:
        model = CalendarConnection
        fields = ["calendar_sync", "scheduling_pages", "task_sync"]
        labels = {
            "calendar_sync": "Calendar sync",
            "scheduling_pages": "Scheduling pages",
            "task_sync": "Task sync",
        }
        help_texts = {
            "calendar_sync": "Log calendar events with CRM contacts as meetings, and send "
            "invitations for meetings created in the CRM.",
            "scheduling_pages": "Read your free times for scheduling pages from this calendar.",
            "task_sync": "Show CRM tasks with a due date in a separate calendar.",
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.task_gate = plans.task_sync(user)
        if not self.task_gate:
            # Rendered disabled; a crafted POST still gets a field error from clean_task_sync.
            field = self.fields["task_sync"]
            field.widget.attrs["disabled"] = True
            field.help_text = self.task_gate.reason
        readable = self.instance.calendars.filter(
            access__in=Calendar.fully_readable_levels(), is_task_calendar=False
        )
        # The main calendar always counts; it is shown on its own, not as a choice.
        self.main_calendar = readable.filter(is_primary=True).first()
        self.fields["availability_calendars"].queryset = readable.filter(
            is_active=True, is_primary=False
        )
        self.initial["availability_calendars"] = list(
            readable.filter(for_availability=True).values_list("pk", flat=True)
        )

    def clean_task_sync(self) -> bool:
        value = self.cleaned_data["task_sync"]
        if value and not self.task_gate:
            raise forms.ValidationError(self.task_gate.reason)
        return value
