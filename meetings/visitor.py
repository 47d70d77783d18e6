"""Prefilling the booking form: from the signed cookie a custom domain sets after a booking
(SPEC §1.7), and from `firstname`, `lastname` and `email` URL parameters on any host (links in
sales emails carry them). The visitor can clear what was remembered ("Not you? Clear")."""

from __future__ import annotations

import json

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

VISITOR_COOKIE, VISITOR_SALT = "meetings_visitor", "meetings.visitor"
URL_PARAMETERS = {"firstname": "first_name", "lastname": "last_name", "email": "email"}
MAX_LENGTH = 100


def remembered(request) -> dict:
    """The details a custom domain remembered; the app's own host never remembers."""
    if request.custom_domain is None:
        return {}
    try:
        data = json.loads(request.get_signed_cookie(VISITOR_COOKIE, salt=VISITOR_SALT))
    except (KeyError, ValueError, TypeError, signing.BadSignature):
        return {}  # none, tampered with, or expired
    return data if isinstance(data, dict) else {}


def _from_url(request) -> dict:
    found = {}
    for parameter, field in URL_PARAMETERS.items():
        value = " ".join(request.GET.get(parameter, "").split())[:MAX_LENGTH]
        if not value:
            continue
        if field == "email":
            try:
                validate_email(value)
            except ValidationError:
                continue
        found[field] = value
    return found


def prefill(request) -> dict:
    """Initial values of the booking form; URL parameters win over the remembered ones."""
    return {**remembered(request), **_from_url(request)}


@require_POST
def forget(request, slug: str):
    """“Not you? Clear”: drop the remembered details and show the page again, empty."""
    response = HttpResponseRedirect(reverse("public:page", args=[slug]), status=303)
    response.delete_cookie(VISITOR_COOKIE, samesite="Lax")
    return response
