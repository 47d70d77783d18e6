"""Web origins an account allows to embed its chat widget and scheduling pages.

Stored and compared in the form browsers send them (RFC 6454 serialisation): scheme, ASCII
host and a port only when it is not the scheme's default, e.g. `https://www.example.com` or
`https://shop.example.com:8443`. They end up in CSP `frame-ancestors` and as `postMessage`
target origins, so nothing looser (paths, wildcards, plain http on the internet) is accepted.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import idna
from django.core.exceptions import ValidationError

MAX_ORIGINS = 20
DEFAULT_PORTS = {"https": 443, "http": 80}
# Plain http only where it cannot cross a network: the browser's own machine (the Secure
# Contexts spec counts these as potentially trustworthy). Handy while developing a website.
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]"}
LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
EXAMPLE = "Write an origin like https://www.example.com (scheme, host and optional port)."


def _host(raw: str) -> str:
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        pass
    else:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    try:
        name = idna.encode(raw, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        raise ValidationError(EXAMPLE) from None
    labels = name.split(".")
    if name != "localhost" and (len(labels) < 2 or labels[-1].isdigit()):
        raise ValidationError(EXAMPLE)
    if len(name) > 253 or not all(LABEL_RE.match(label) for label in labels):
        raise ValidationError(EXAMPLE)
    return name


def clean_origin(raw: str) -> str:
    """One origin as typed (maybe pasted as a whole URL of the site's home page) in its
    serialised form; ValidationError with the reason otherwise."""
    value = raw.strip()
    if "*" in value:
        raise ValidationError("Wildcards are not allowed: list every origin.")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationError(EXAMPLE) from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValidationError(EXAMPLE)
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValidationError("An origin has no user name, query or fragment.")
    if parts.path not in ("", "/"):
        raise ValidationError("An origin has no path: use https://www.example.com.")
    host = _host(parts.hostname)
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ValidationError("Use https:// (plain http is only accepted for localhost).")
    suffix = f":{port}" if port is not None and port != DEFAULT_PORTS[scheme] else ""
    return f"{scheme}://{host}{suffix}"


def clean_origins(text: str) -> list[str]:
    """Origins one per line (or separated by spaces or commas), normalised, without
    duplicates, in the order given. Every bad line is reported."""
    origins, errors = [], []
    for item in filter(None, re.split(r"[\s,]+", text)):
        try:
            origin = clean_origin(item)
        except ValidationError as exc:
            errors.append(ValidationError(f"{item}: {exc.messages[0]}"))
            continue
        if origin not in origins:
            origins.append(origin)
    if errors:
        raise ValidationError(errors)
    if len(origins) > MAX_ORIGINS:
        raise ValidationError(f"At most {MAX_ORIGINS} origins.")
    return origins
