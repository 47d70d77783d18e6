import re
import zoneinfo
from functools import cache

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms

from scheduler.models import Domain, User


@cache
def timezone_choices() -> list[tuple[str, str]]:
    names = sorted(name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC")
    return [(name, name.replace("_", " ")) for name in names]


class TimezoneField(forms.ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("choices", timezone_choices)
        kwargs.setdefault("initial", "UTC")
        super().__init__(**kwargs)


class SignupForm(AllauthSignupForm):
    """Sign-up creates a company account; see scheduler.adapters.AccountAdapter."""

    full_name = forms.CharField(max_length=200, label="Your name")
    company = forms.CharField(max_length=200, label="Company name")
    timezone = TimezoneField(label="Time zone", widget=forms.Select(attrs={"data-detect-tz": ""}))

    field_order = ["full_name", "company", "email", "password1", "password2", "timezone"]


class InviteUserForm(forms.Form):
    email = forms.EmailField(label="Email address")
    full_name = forms.CharField(max_length=200, required=False, label="Name")
    role = forms.ChoiceField(choices=User.Role.choices, initial=User.Role.MEMBER)
    personal_email_access = forms.BooleanField(
        required=False, label="Personal email access (may connect a calendar)"
    )
    seat = forms.ChoiceField(choices=User.Seat.choices, initial=User.Seat.NONE, label="Paid seat")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("A user with this email address already exists.")
        return email


class UserAccessForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["role", "personal_email_access", "seat"]
        labels = {"personal_email_access": "Personal email access", "seat": "Paid seat"}


class ProfileForm(forms.ModelForm):
    timezone = TimezoneField(label="Time zone")

    class Meta:
        model = User
        fields = ["full_name", "timezone"]
        labels = {"full_name": "Your name"}


HOSTNAME_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class DomainForm(forms.ModelForm):
    class Meta:
        model = Domain
        fields = ["hostname"]
        labels = {"hostname": "Domain"}
        help_texts = {"hostname": "For example meet.example.com"}

    def clean_hostname(self) -> str:
        hostname = self.cleaned_data["hostname"].strip().lower().rstrip(".")
        if not HOSTNAME_RE.match(hostname):
            raise forms.ValidationError("Enter a domain name such as meet.example.com.")
        if Domain.objects.filter(hostname__iexact=hostname).exists():
            raise forms.ValidationError("This domain is already connected to an account.")
        return hostname
