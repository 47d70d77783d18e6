"""Video meetings created with events: Google Meet (Calendar API conferenceData) and Microsoft
Teams (Graph online meetings), as the providers document them.

Google (developers.google.com/workspace/calendar/api/guides/create-events#conferencing and
.../api/v3/reference/events): an insert with ``conferenceDataVersion=1`` and
``conferenceData.createRequest`` (``requestId``, ``conferenceSolutionKey.type``
``hangoutsMeet``) creates a Meet conference asynchronously: the event answers
``createRequest.status.statusCode`` ``pending`` until it is ready, then ``success`` with
``entryPoints`` (a ``video`` entry point) and ``hangoutLink``; ``failure`` when it cannot be
made. Without ``conferenceDataVersion=1`` conference data in the body is ignored (version 0),
and updates at version 0 leave an event's conference as it is.

Graph (learn.microsoft.com/en-us/graph/outlook-calendar-online-meetings): creating an event
with ``isOnlineMeeting: true`` and ``onlineMeetingProvider: teamsForBusiness`` makes it a
Teams meeting whose ``onlineMeeting.joinUrl`` is in the answer; a calendar whose
``allowedOnlineMeetingProviders`` lacks the provider leaves the event offline. Once online, an
event stays online.

Per mailbox, `PATCH /_sandbox/mailboxes/<email>/conferencing` sets ``pending_seconds`` (how
long a new Meet conference stays pending, default 0) and ``available`` (false: Meet creation
fails, or the Graph calendar does not allow Teams).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sandbox.state import Event, Invalid, Mailbox, now

MEET_TYPE = "hangoutsMeet"
TEAMS = "teamsForBusiness"
GRAPH_PROVIDERS = ("teamsForBusiness", "skypeForBusiness", "skypeForConsumer")


def settings(mailbox: Mailbox) -> dict[str, Any]:
    return {"pending_seconds": 0.0, "available": True, **mailbox.extra.get("conferencing", {})}


def configure(mailbox: Mailbox, body: dict[str, Any]) -> dict[str, Any]:
    """Control API: how the mailbox's conferences behave (see the module docstring)."""
    current = settings(mailbox)
    if "pending_seconds" in body:
        seconds = body["pending_seconds"]
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise Invalid("pending_seconds must be a non-negative number")
        current["pending_seconds"] = float(seconds)
    if "available" in body:
        if not isinstance(body["available"], bool):
            raise Invalid("available must be true or false")
        current["available"] = body["available"]
    mailbox.extra["conferencing"] = current
    return current


def _code(seed: str) -> str:
    """A Meet code like abc-defg-hij, stable for one request id."""
    digest = hashlib.sha256(seed.encode()).digest()
    letters = "".join(chr(ord("a") + b % 26) for b in digest[:10])
    return f"{letters[:3]}-{letters[3:7]}-{letters[7:10]}"


# --- Google ---------------------------------------------------------------------------------


def google_request(mailbox: Mailbox, body: dict[str, Any], version: str) -> dict | None:
    """The conference an insert asks for, stored with the event; None when none is asked
    (or conference data is ignored at version 0)."""
    if version != "1":
        return None
    request = (body.get("conferenceData") or {}).get("createRequest")
    if not request:
        return None
    request_id = str(request.get("requestId") or "")
    kind = ((request.get("conferenceSolutionKey") or {}).get("type")) or ""
    if not request_id:
        raise Invalid("Invalid conference request: requestId is required.")
    if kind != MEET_TYPE:
        raise Invalid("Invalid conference type value.")
    options = settings(mailbox)
    ready_at = now() + timedelta(seconds=options["pending_seconds"])
    return {
        "request_id": request_id,
        "type": kind,
        "code": _code(f"{mailbox.email}:{request_id}"),
        "ready_at": ready_at.isoformat(),
        "failed": not options["available"],
    }


def google_fields(event: Event) -> dict[str, Any]:
    """conferenceData (and hangoutLink once ready) of an event resource."""
    conference = event.extra.get("conference")
    if not conference or "request_id" not in conference:
        return {}
    ready = now() >= datetime.fromisoformat(conference["ready_at"])
    status = "failure" if conference["failed"] else ("success" if ready else "pending")
    data: dict[str, Any] = {
        "createRequest": {
            "requestId": conference["request_id"],
            "conferenceSolutionKey": {"type": conference["type"]},
            "status": {"statusCode": status},
        }
    }
    if status != "success":
        return {"conferenceData": data}
    url = f"https://meet.google.com/{conference['code']}"
    data |= {
        "entryPoints": [{"entryPointType": "video", "uri": url, "label": url[8:]}],
        "conferenceSolution": {
            "key": {"type": MEET_TYPE},
            "name": "Google Meet",
            "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
        },
        "conferenceId": conference["code"],
    }
    return {"conferenceData": data, "hangoutLink": url}


# --- Microsoft Graph ------------------------------------------------------------------------


def graph_request(mailbox: Mailbox, body: dict[str, Any]) -> dict | None:
    """The online meeting a created event gets, or None (offline)."""
    if not body.get("isOnlineMeeting"):
        return None
    provider = body.get("onlineMeetingProvider") or TEAMS
    if provider not in GRAPH_PROVIDERS:
        raise Invalid(f"Invalid onlineMeetingProvider {provider!r}.")
    if provider != TEAMS or not settings(mailbox)["available"]:
        return None  # the calendar does not allow it: the event stays offline
    digest = hashlib.sha256(f"{mailbox.email}:{body.get('transactionId', '')}{now()}".encode())
    thread = digest.hexdigest()[:32]
    return {
        "provider": TEAMS,
        "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0",
    }


def graph_fields(event: Event) -> dict[str, Any]:
    meeting = event.extra.get("online_meeting")
    if not meeting:
        return {"isOnlineMeeting": False, "onlineMeetingProvider": "unknown", "onlineMeeting": None}
    return {
        "isOnlineMeeting": True,
        "onlineMeetingProvider": meeting["provider"],
        "onlineMeeting": {"joinUrl": meeting["joinUrl"]},
    }
