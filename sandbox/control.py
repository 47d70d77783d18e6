"""The provider-agnostic control API under /_sandbox/, used by tests, demos and the dev runner.

It sets the world up (mailboxes, calendars, tokens), plays the user editing their own calendar,
injects faults, and shows what clients wrote. Errors answer `{"error": message}`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Request, Response

from sandbox import grants, invitations
from sandbox.server import Site, json_response
from sandbox.state import (
    ACCESS_TOKEN_LIFETIME,
    CALENDAR_FIELDS,
    PROVIDERS,
    Attendee,
    Event,
    Invalid,
    number,
    parse_moment,
    to_jsonable,
)


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.get_json(force=True, silent=False) if request.content_length else {}
    except BadRequest as exc:
        raise Invalid("body must be JSON") from exc
    if not isinstance(body, dict):
        raise Invalid("body must be a JSON object")
    return body


def _mailbox_json(site: Site, email: str) -> dict[str, Any]:
    mailbox = site.state.mailbox(email)
    calendars = [
        {
            "id": cal_id,
            "name": site.state.data.calendars[cal_id].name,
            "timezone": site.state.data.calendars[cal_id].timezone,
            "access": access.role,
            "primary": access.primary,
            "lost": access.lost,
        }
        for cal_id, access in mailbox.calendars.items()
    ]
    return {
        "provider": mailbox.provider,
        "email": mailbox.email,
        "password": mailbox.password,
        "timezone": mailbox.timezone,
        "calendars": calendars,
    }


def register(site: Site) -> None:
    state = site.state

    def health(request: Request) -> Response:
        return json_response({"status": "ok", "providers": list(PROVIDERS)})

    def reset(request: Request) -> Response:
        state.reset()
        return json_response({"status": "reset"})

    def get_settings(request: Request) -> Response:
        return json_response(to_jsonable(state.settings))

    def change_settings(request: Request) -> Response:
        body = _body(request)
        if "allow_http_push" in body:
            if not isinstance(body["allow_http_push"], bool):
                raise Invalid("allow_http_push must be true or false")
            state.settings.allow_http_push = body["allow_http_push"]
        if "push_ca_file" in body:
            state.settings.push_ca_file = str(body["push_ca_file"] or "")
        return json_response(to_jsonable(state.settings))

    def create_mailbox(request: Request) -> Response:
        body = _body(request)
        options = {key: body[key] for key in ("password", "timezone") if body.get(key)}
        mailbox = state.add_mailbox(
            body.get("provider", ""),
            body.get("email", ""),
            calendars=body.get("calendars") or (),
            **options,
        )
        return json_response(_mailbox_json(site, mailbox.email), 201)

    def list_mailboxes(request: Request) -> Response:
        return json_response([_mailbox_json(site, email) for email in state.data.mailboxes])

    def get_mailbox(request: Request, email: str) -> Response:
        return json_response(_mailbox_json(site, email))

    def add_calendar(request: Request, email: str) -> Response:
        body = _body(request)
        spec = {key: body[key] for key in CALENDAR_FIELDS if key in body}
        state.add_calendar(email, **spec)
        return json_response(_mailbox_json(site, email), 201)

    def create_tokens(request: Request) -> Response:
        body = _body(request)
        provider = body.get("provider", "")
        client_id, client_secret = body.get("client_id", ""), body.get("client_secret", "")
        scopes = body.get("scopes") or site.default_scopes.get(provider, [])
        grant = state.issue_grant(provider, body.get("email", ""), client_id, client_secret, scopes)
        lifetime = timedelta(
            seconds=number(
                body.get("expires_in", ACCESS_TOKEN_LIFETIME.total_seconds()), "expires_in"
            )
        )
        access = state.issue_access_token(grant, lifetime)
        return json_response(
            {
                "access_token": access.token,
                "refresh_token": grant.refresh_token,
                "token_type": "Bearer",
                "expires_in": int(lifetime.total_seconds()),
                "expires_at": access.expires_at.isoformat(),
                "scope": " ".join(scopes),
            },
            201,
        )

    for path, methods, view in [
        ("/_sandbox/health", ["GET"], health),
        ("/_sandbox/reset", ["POST"], reset),
        ("/_sandbox/settings", ["GET"], get_settings),
        ("/_sandbox/settings", ["PATCH"], change_settings),
        ("/_sandbox/mailboxes", ["POST"], create_mailbox),
        ("/_sandbox/mailboxes", ["GET"], list_mailboxes),
        ("/_sandbox/mailboxes/<email>", ["GET"], get_mailbox),
        ("/_sandbox/mailboxes/<email>/calendars", ["POST"], add_calendar),
        ("/_sandbox/tokens", ["POST"], create_tokens),
    ]:
        site.route(path, methods, view)
    _register_events(site)
    _register_observation(site)


# --- the user editing their own calendar ---------------------------------------------------


def _attendee(value: str | dict[str, Any]) -> Attendee:
    if isinstance(value, str):
        return Attendee(value.lower())
    return Attendee(
        value["email"].lower(),
        value.get("name", ""),
        value.get("response", "needsAction"),
        bool(value.get("optional")),
    )


def _show_as(body: dict[str, Any]) -> str | None:
    if "showAs" in body:
        return body["showAs"]
    if "transparency" in body:
        return "free" if body["transparency"] == "transparent" else "busy"
    return None


def event_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Event fields from the control API's JSON (sandbox/README.md); absent keys are left out."""
    simple = {
        "summary": "summary",
        "description": "description",
        "location": "location",
        "status": "status",
        "eventType": "event_type",
        "timezone": "timezone",
        "recurrence": "recurrence",
        "organizer": "organizer",
        "privateProperties": "private_properties",
    }
    found = {name: body[key] for key, name in simple.items() if key in body}
    found.update({key: parse_moment(body[key]) for key in ("start", "end") if key in body})
    if "attendees" in body:
        found["attendees"] = [_attendee(value) for value in body["attendees"]]
    if (show_as := _show_as(body)) is not None:
        found["show_as"] = show_as
    return found


def _register_events(site: Site) -> None:
    state = site.state
    base = "/_sandbox/mailboxes/<email>/calendars/<calendar_id>/events"

    def calendar(email: str, calendar_id: str) -> Any:
        return state.calendar_for(state.mailbox(email), calendar_id)[0]

    def list_events(request: Request, email: str, calendar_id: str) -> Response:
        events = calendar(email, calendar_id).events.values()
        return json_response([to_jsonable(e) for e in sorted(events, key=lambda e: e.changed)])

    def create_event(request: Request, email: str, calendar_id: str) -> Response:
        target, body = calendar(email, calendar_id), _body(request)
        fields = event_fields(body)
        if "start" not in fields or "end" not in fields:
            raise Invalid("start and end are required")
        fields.setdefault("timezone", target.timezone)
        event = state.create_event(
            target, Event(id=body.get("id", ""), calendar_id=target.id, **fields)
        )
        invitations.deliver(state, event)  # the user's calendar app invites every guest
        return json_response(to_jsonable(event), 201)

    def get_event(request: Request, email: str, calendar_id: str, event_id: str) -> Response:
        return json_response(to_jsonable(state.find_event(calendar(email, calendar_id), event_id)))

    def update_event(request: Request, email: str, calendar_id: str, event_id: str) -> Response:
        _, after = state.update_event(
            calendar(email, calendar_id), event_id, event_fields(_body(request))
        )
        invitations.deliver(state, after)
        return json_response(to_jsonable(after))

    def delete_event(request: Request, email: str, calendar_id: str, event_id: str) -> Response:
        invitations.deliver(state, state.delete_event(calendar(email, calendar_id), event_id))
        return Response(status=204)

    def respond(request: Request, email: str, calendar_id: str, event_id: str) -> Response:
        """The attendee answers a meeting on their calendar (as in their calendar app)."""
        body = _body(request)
        event = invitations.respond(
            state,
            state.mailbox(email),
            calendar(email, calendar_id),
            event_id,
            str(body.get("response", "")),
            send=bool(body.get("send", True)),
        )
        return json_response(to_jsonable(event))

    site.route(base, ["GET"], list_events)
    site.route(base, ["POST"], create_event)
    site.route(base + "/<event_id>", ["GET"], get_event)
    site.route(base + "/<event_id>", ["PATCH"], update_event)
    site.route(base + "/<event_id>", ["DELETE"], delete_event)
    site.route(base + "/<event_id>/respond", ["POST"], respond)


# --- faults and what clients did -----------------------------------------------------------


def _matching(items: list[Any], request: Request, **filters: str) -> list[Any]:
    """Items whose attributes equal the given query parameters (compared case-insensitively)."""
    wanted = {
        attr: request.args[param].lower()
        for param, attr in filters.items()
        if request.args.get(param)
    }
    return [
        to_jsonable(item)
        for item in items
        if all(str(getattr(item, attr)).lower() == value for attr, value in wanted.items())
    ]


def _register_observation(site: Site) -> None:
    state = site.state

    def add_fault(request: Request) -> Response:
        body = _body(request)
        options = {
            key: body[key]
            for key in (
                "email",
                "count",
                "retry_after",
                "delay",
                "status",
                "calendar_id",
                "probability",
            )
            if key in body
        }
        if body.get("kind") == "expire_refresh_tokens":
            return json_response(
                grants.expire(
                    state, body.get("provider", ""), body.get("email", ""), body.get("cause", "")
                ),
                201,
            )
        return json_response(
            state.add_fault(body.get("kind", ""), body.get("provider", ""), **options), 201
        )

    def list_faults(request: Request) -> Response:
        return json_response(to_jsonable(state.data.faults))

    def clear_faults(request: Request) -> Response:
        state.clear_faults()
        return Response(status=204)

    def writes(request: Request) -> Response:
        return json_response(
            _matching(
                state.data.writes,
                request,
                email="email",
                provider="provider",
                calendar_id="calendar_id",
            )
        )

    def invitations(request: Request) -> Response:
        return json_response(
            _matching(
                state.data.invitations,
                request,
                email="email",
                provider="provider",
                attendee="attendee",
            )
        )

    def channels(request: Request) -> Response:
        return json_response(
            _matching(
                list(state.data.channels.values()),
                request,
                email="email",
                provider="provider",
                calendar_id="calendar_id",
            )
        )

    site.route("/_sandbox/faults", ["POST"], add_fault)
    site.route("/_sandbox/faults", ["GET"], list_faults)
    site.route("/_sandbox/faults", ["DELETE"], clear_faults)
    site.route("/_sandbox/writes", ["GET"], writes)
    site.route("/_sandbox/invitations", ["GET"], invitations)
    site.route("/_sandbox/channels", ["GET"], channels)
