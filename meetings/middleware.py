"""Scheduling pages on accounts' custom domains (SPEC §1.7).

Django accepts any Host header (ALLOWED_HOSTS = ["*"]); this middleware is the gate: the
app's own hosts (settings.APP_HOSTS) get everything, an account's verified custom domain
gets only its scheduling pages, static files and robots.txt, and any other host is refused
with a 400 (DisallowedHost), exactly as Django's own host validation would.
"""

import hashlib
import re

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import Http404
from django.http.request import split_domain_port, validate_host

from scheduler.models import Domain

CACHE_SECONDS = 60
CUSTOM_DOMAIN_PATHS = ("/meetings/", "/static/", "/robots.txt")


def _key(hostname: str) -> str:
    digest = hashlib.sha256(hostname.lower().encode()).hexdigest()[:40]
    return f"custom-domain:{digest}"


HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$")


def custom_domain(hostname: str) -> Domain | None:
    """The verified domain for a hostname; unknown hosts are remembered briefly so that a
    flood of bogus Host headers costs no queries. What is not a host name is nobody's."""
    hostname = hostname.lower()
    if not HOSTNAME.match(hostname):
        return None
    if cache.get(_key(hostname)) == "unknown":
        return None
    domain = Domain.objects.filter(hostname__iexact=hostname, verified=True).first()
    if domain is None:
        cache.set(_key(hostname), "unknown", CACHE_SECONDS)
    return domain


@receiver([post_save, post_delete], sender=Domain)
def _forget(sender, instance: Domain, **kwargs) -> None:
    cache.delete(_key(instance.hostname))


class CustomDomainMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.custom_domain = None
        raw_host = request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")
        hostname, _ = split_domain_port(raw_host.lower())
        if not hostname:
            raise DisallowedHost(f"Invalid HTTP_HOST header: {raw_host!r}.")
        if validate_host(hostname, settings.APP_HOSTS):
            return self.get_response(request)
        domain = custom_domain(hostname)
        if domain is None:
            raise DisallowedHost(f"Invalid HTTP_HOST header: {raw_host!r}.")
        if not request.path.startswith(CUSTOM_DOMAIN_PATHS):
            raise Http404("Only scheduling pages are served on this domain.")
        request.custom_domain = domain
        return self.get_response(request)
