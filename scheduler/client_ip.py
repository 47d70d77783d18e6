"""The client's address for rate limits, behind a reverse proxy or not."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """REMOTE_ADDR; behind trusted proxies (USE_X_FORWARDED_FOR) the right-most valid
    X-Forwarded-For entry: the address our own proxy saw (earlier entries are whatever the
    client claimed). Never raises."""
    remote = request.META.get("REMOTE_ADDR") or "0.0.0.0"  # noqa: S104 (a key, not a bind)
    if not settings.USE_X_FORWARDED_FOR:
        return remote
    for candidate in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        try:
            return str(ipaddress.ip_address(candidate.strip()))
        except ValueError:
            continue
    return remote
