"""The input boundary of the public surface: what every public endpoint accepts, checked the
same way everywhere (the OpenAPI document, `scheduler/openapi.json`, describes the result).

Text must be storable as it is: no NUL character (PostgreSQL refuses it) and no lone UTF-16
surrogate (it cannot be encoded; JSON's "\\ud800" escapes produce one). Time zones are IANA
names from `zoneinfo.available_timezones()` (a directory such as "America" or a 300-character
name is not one). Dates stay within a range every computation can handle. JSON bodies are
small and shallow. A violation is a 400 naming the field, never a 500.
"""

from __future__ import annotations

import json
import zoneinfo
from datetime import date, datetime, timedelta
from functools import cache

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

MAX_JSON_BYTES = 16 * 1024
MAX_JSON_DEPTH = 6
# Bookings, slots, overrides: within a year back and ten years ahead of today.
PAST_LIMIT, FUTURE_LIMIT = timedelta(days=366), timedelta(days=3650)


class BadInput(ValueError):
    """A request the app refuses as it is: `fields` maps a field to its message."""

    def __init__(self, message: str, fields: dict[str, str] | None = None, status: int = 400):
        super().__init__(message)
        self.message, self.fields, self.status = message, fields or {}, status


# --- Text ----------------------------------------------------------------------------------


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored as it is, or None."""
    if "\x00" in value:
        return "Remove the NUL character."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "The text holds an invalid character (a lone surrogate)."
    return None


def validate_text(value: str) -> None:
    """A form validator: for every CharField of a public form."""
    problem = text_problem(str(value))
    if problem:
        raise ValidationError(problem, code="invalid_text")


def _walk(value, path: str, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise BadInput("The JSON body is nested too deeply.", {"body": "Nested too deeply."})
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise BadInput("Some fields are not valid.", {path or "body": problem})
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = text_problem(key)
            if problem:
                raise BadInput("Some fields are not valid.", {path or "body": problem})
            _walk(item, key if not path else f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for item in value:
            _walk(item, path, depth + 1)


def json_object(request, max_bytes: int = MAX_JSON_BYTES) -> dict:
    """The request's JSON body as a dict, or BadInput (413 when too large)."""
    body = request.body or b"{}"
    if len(body) > max_bytes:
        raise BadInput(f"The body is larger than {max_bytes} bytes.", {"body": "Too large."}, 413)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadInput("Send a JSON object.", {"body": "Send a JSON object."}) from None
    if not isinstance(data, dict):
        raise BadInput("Send a JSON object.", {"body": "Send a JSON object."})
    _walk(data, "")
    return data


# --- Time zones ----------------------------------------------------------------------------


@cache
def timezone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_timezone(name: object) -> bool:
    return isinstance(name, str) and name in timezone_names()


def validate_timezone(value: str) -> None:
    if not is_timezone(value):
        raise ValidationError("Unknown time zone.", code="invalid_timezone")


class TimezoneNameField(forms.CharField):
    """An IANA time zone name (as a free-text field, for JSON APIs)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)
        self.validators.append(validate_timezone)


# --- Dates ---------------------------------------------------------------------------------


def sane_day(day: date, today: date | None = None) -> bool:
    today = today or timezone.now().date()
    return today - PAST_LIMIT <= day <= today + FUTURE_LIMIT


def sane_moment(moment: datetime, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return now - PAST_LIMIT <= moment <= now + FUTURE_LIMIT


class ObjectField(forms.Field):
    """A JSON object the body already held (json_object parsed and checked it). A string is
    refused rather than parsed a second time: that would bypass the body's size and depth
    limits (Django's JSONField re-parses strings)."""

    def to_python(self, value):
        if value in self.empty_values:
            return {}
        if not isinstance(value, dict):
            raise ValidationError("Send an object.", code="invalid_object")
        return value


class AwareDateTimeField(forms.Field):
    """An ISO 8601 time that must carry its UTC offset (a visitor's clock is not ours) and
    lie within the range every computation handles."""

    default_error_messages = {
        "invalid": "Use an ISO 8601 time such as 2026-03-02T09:00:00-05:00.",
        "naive": "The time needs its UTC offset, e.g. +01:00.",
        "range": "This time is not offered.",
    }

    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            parsed = datetime.fromisoformat(str(value))
        except (ValueError, TypeError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValidationError(self.error_messages["naive"], code="naive")
        try:
            if not sane_moment(parsed):
                raise ValidationError(self.error_messages["range"], code="range")
        except OverflowError:
            raise ValidationError(self.error_messages["range"], code="range") from None
        return parsed
