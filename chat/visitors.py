"""How a chat visitor is recognised: a random id their browser keeps, never a login.

The widget's frame (on the app's origin) keeps the id in localStorage and sends it with every
call in the X-Chat-Visitor header; a cookie of the frame carries it too, for browsers where
storage is unavailable. Inside an iframe on another site both are third-party storage, which
current browsers partition by the top-level site (and the cookie is `Partitioned` over https):
the same person on two customers' websites is two unrelated visitors, so nothing here can
track anyone across sites. Only the id's SHA-256 digest is stored.

The id is a bearer secret of the visitor, never an ambient credential: a state-changing call
is accepted only with the header (a page on another site cannot set it) and from the app's
own origin (scheduler.csrf).
"""

from __future__ import annotations

import hashlib
import re
import secrets

HEADER = "X-Chat-Visitor"
COOKIE = "chat_visitor"
COOKIE_MAX_AGE = 365 * 24 * 3600
ID_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")


def new_visitor_id() -> str:
    return secrets.token_urlsafe(24)  # 32 characters, 192 bits


def digest(visitor_id: str) -> str:
    return hashlib.sha256(visitor_id.encode()).hexdigest()


def valid(visitor_id: str | None) -> str | None:
    return visitor_id if visitor_id and ID_RE.match(visitor_id) else None


def from_header(request) -> str | None:
    return valid(request.headers.get(HEADER))


def from_cookie(request) -> str | None:
    return valid(request.COOKIES.get(COOKIE))


def remember(request, response, visitor_id: str, path: str) -> None:
    """Set the frame's cookie. Over https it must be SameSite=None; Secure to exist at all in
    a cross-site iframe, and Partitioned (CHIPS) so that browsers which block third-party
    cookies still keep it, per top-level site. Over plain http (development) browsers refuse
    SameSite=None; Lax then works only where the frame is same-site with the page, and the
    localStorage copy covers the rest."""
    secure = request.is_secure()
    response.set_cookie(
        COOKIE,
        visitor_id,
        max_age=COOKIE_MAX_AGE,
        path=path,
        secure=secure,
        httponly=True,
        samesite="None" if secure else "Lax",
    )
    if secure:
        # Python's cookie module only knows the Partitioned attribute from 3.14 on.
        response.cookies[COOKIE]["samesite"] = "None; Partitioned"
