"""CSRF protection for endpoints used from frames on other websites.

Django's CSRF check compares a token with a secret kept in a cookie. Inside an iframe on a
customer's website the app's cookies are third-party cookies: SameSite=Lax ones are neither
stored nor sent, and many browsers block third-party cookies altogether. A chat widget or an
embedded booking page would then fail every POST.

`csrf_protect_by_origin` protects such endpoints without a cookie, the way current browsers
allow (Fetch Metadata and the Origin header, as Go's http.CrossOriginProtection does): a
state-changing request must say it comes from the app's own origin (`Sec-Fetch-Site:
same-origin`, and an `Origin` equal to the app's or listed in CSRF_TRUSTED_ORIGINS). A page on
another site cannot forge either header. A client that sends neither (not a browser, or a very
old one) gets Django's usual token check instead, so nothing is ever less protected.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt, csrf_protect

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def own_origin(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


def cross_origin_reason(request) -> str | None:
    """Why this request must be refused as cross-site, or None when it comes from the app."""
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if origin is not None and origin in settings.CSRF_TRUSTED_ORIGINS:
        return None
    if site is not None and site != "same-origin":
        return f"the request comes from another site (Sec-Fetch-Site: {site})."
    if origin is not None and origin != own_origin(request):
        return "the request comes from another origin."
    return None


def csrf_protect_by_origin(view):
    """Protect `view` from cross-site requests without needing the CSRF cookie (see the
    module docstring). Refusals are JSON: `{"error", "errors"}` with status 403."""
    token_checked = csrf_protect(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method in SAFE_METHODS:
            return view(request, *args, **kwargs)
        if "Sec-Fetch-Site" not in request.headers and "Origin" not in request.headers:
            return token_checked(request, *args, **kwargs)
        reason = cross_origin_reason(request)
        if reason is not None:
            return JsonResponse(
                {"error": f"Refused: {reason}", "errors": {}},
                status=403,
            )
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapper)
