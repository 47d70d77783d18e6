"""The Django admin signs in only through the app's own sign-in (allauth: throttling, email
verification, second factor), and only staff with two-factor authentication get in."""

from allauth.account.utils import get_next_redirect_url
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.http import urlencode


def may_use_admin(user) -> bool:
    return bool(user.is_active and user.is_staff and is_mfa_enabled(user))


def login(request, extra_context=None):
    """Replaces the admin's password form, which would skip the second factor."""
    next_url = get_next_redirect_url(request) or reverse("admin:index")
    if not request.user.is_authenticated:
        login_url = resolve_url(settings.LOGIN_URL)
        return HttpResponseRedirect(f"{login_url}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")
    if not (request.user.is_active and request.user.is_staff):
        raise PermissionDenied
    if not is_mfa_enabled(request.user):
        messages.warning(
            request, "Set up two-factor authentication to use the administration pages."
        )
        return redirect("mfa_activate_totp")
    return HttpResponseRedirect(next_url)


def secure(site: admin.AdminSite) -> None:
    site.login = login
    site.has_permission = lambda request: may_use_admin(request.user)
