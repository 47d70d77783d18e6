"""Content-Security-Policy (django-csp, settings.CONTENT_SECURITY_POLICY) and the few
per-response changes to it."""

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpResponseBase


def allow_framing(response: HttpResponseBase, origins=()) -> HttpResponseBase:
    """Let `origins` (plus the operator's EMBED_ALLOWED_ORIGINS) frame this response, and
    nobody else: CSP frame-ancestors replaces X-Frame-Options, which cannot name origins."""
    allowed = sorted({*settings.EMBED_ALLOWED_ORIGINS, *origins})
    response._csp_replace = dict(getattr(response, "_csp_replace", None) or {})
    response._csp_replace["frame-ancestors"] = allowed or ["'none'"]
    response.xframe_options_exempt = bool(allowed)
    return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def sign_in_origins() -> list[str]:
    """The providers' sign-in pages the calendar connect flow redirects a form post to."""
    urls = (settings.GOOGLE_AUTH_URI, settings.MICROSOFT_AUTHORITY_HOST)
    return sorted({origin for origin in map(_origin, urls) if origin})


class PolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with form-action taken from the provider settings as they
    are when the response is made (they are settings, and tests point them elsewhere)."""

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only:
            parts.update = {**(parts.update or {}), "form-action": sign_in_origins()}
        return parts
