"""Content-Security-Policy (django-csp, settings.CONTENT_SECURITY_POLICY) and the few
per-response changes to it."""

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpResponseBase


def allow_framing(response: HttpResponseBase, origins=()) -> HttpResponseBase:
    """Let `origins` (plus the operator's EMBED_ALLOWED_ORIGINS) frame this response, and
    nobody else: CSP frame-ancestors replaces X-Frame-Options, which cannot name origins.
    `"'self'"` is an origin too: a page framed by a frame of the app (the chat widget's
    booking panel) needs it, because frame-ancestors checks every ancestor."""
    allowed = sorted({*settings.EMBED_ALLOWED_ORIGINS, *origins})
    response._csp_replace = dict(getattr(response, "_csp_replace", None) or {})
    response._csp_replace["frame-ancestors"] = allowed or ["'none'"]
    response.xframe_options_exempt = bool(allowed)
    return response


def embed_origins(account) -> list[str]:
    """The origins that may embed an account's chat widget and scheduling pages: the
    operator's EMBED_ALLOWED_ORIGINS and the account's own (Settings > Chat widget)."""
    return sorted({*settings.EMBED_ALLOWED_ORIGINS, *(account.embed_origins or [])})


def allow_images(response: HttpResponseBase, urls=()) -> HttpResponseBase:
    """Let this response show images from the origins of `urls` (e.g. a chat profile photo
    on the customer's own host) on top of the app's own."""
    origins = sorted({origin for origin in map(_origin, urls) if origin})
    if origins:
        response._csp_update = dict(getattr(response, "_csp_update", None) or {})
        response._csp_update["img-src"] = origins
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
