import ipaddress
import re
import zoneinfo
from functools import cache
from urllib.parse import urlsplit

import idna
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.core.validators import MaxLengthValidator

from scheduler.inputs import validate_text
from scheduler.models import Domain, User

EMAIL_MAX_LENGTH = 254


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An address (and the column that stores it) holds at most 254 characters (RFC
        # 5321): a longer one is refused here, never cut short on the way to the database.
        email = self.fields["email"]
        email.max_length = EMAIL_MAX_LENGTH
        email.validators.append(MaxLengthValidator(EMAIL_MAX_LENGTH))
        email.widget.attrs["maxlength"] = str(EMAIL_MAX_LENGTH)
        for name in ("full_name", "company"):
            self.fields[name].validators.append(validate_text)


class InviteUserForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=EMAIL_MAX_LENGTH)
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


LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def clean_hostname(raw: str) -> str:
    """A domain name as typed (Unicode or punycode, maybe pasted as a URL) in its ASCII,
    lower-case form; ValidationError for IP addresses and anything that is not a name."""
    value = raw.strip()
    if "://" in value:
        value = urlsplit(value).hostname or ""
    value = value.split("/")[0].rstrip(".")
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        pass
    else:
        raise forms.ValidationError("Enter a domain name, not an IP address.")
    try:
        ascii_name = idna.encode(value, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        raise forms.ValidationError("Enter a domain name such as meet.example.com.") from None
    labels = ascii_name.split(".")
    if (
        len(ascii_name) > 253
        or len(labels) < 2
        or not all(LABEL_RE.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise forms.ValidationError("Enter a domain name such as meet.example.com.")
    return ascii_name


class DomainForm(forms.Form):
    hostname = forms.CharField(
        label="Domain", max_length=300, help_text="For example meet.example.com"
    )

    def clean_hostname(self) -> str:
        from scheduler.domains import is_app_host

        hostname = clean_hostname(self.cleaned_data["hostname"])
        if is_app_host(hostname):
            raise forms.ValidationError("This is the app's own address; enter your own domain.")
        if Domain.objects.filter(hostname__iexact=hostname).exists():
            raise forms.ValidationError("This domain is already connected to an account.")
        return hostname


class DomainRobotsForm(forms.Form):
    robots = forms.ChoiceField(
        label="Search engines",
        choices=[
            ("hide", "Keep scheduling pages out of search engines (Disallow: /meetings*)"),
            ("allow", "Allow search engines to index scheduling pages"),
        ],
        widget=forms.RadioSelect,
    )
