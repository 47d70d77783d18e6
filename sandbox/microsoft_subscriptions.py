"""Graph change notifications: subscriptions on a calendar's events, their validation
handshake, change notifications, and lifecycle notifications.

Documented behaviour emulated here:
- `notificationUrl` (and `lifecycleNotificationUrl`) must be https: an http one is
  `400 InvalidRequest "NotificationUrl scheme='http' is not supported."` (the subscription
  resource: https://learn.microsoft.com/en-us/graph/api/resources/subscription; the answer as
  reported in https://github.com/microsoftgraph/microsoft-graph-docs/issues/2751), unless the
  sandbox allows http push (the app's tests).
- Both URLs are validated: Graph POSTs `?validationToken=...` and the endpoint must echo it
  as text/plain within 10 s (https://learn.microsoft.com/en-us/graph/change-notifications-
  delivery-webhooks#notificationurl-validation).
- Lifecycle notifications (https://learn.microsoft.com/en-us/graph/change-notifications-
  lifecycle-events) go to `lifecycleNotificationUrl`, which can only be given at creation:
  `reauthorizationRequired` (change notifications pause until `POST /subscriptions/{id}/
  reauthorize`, 204, or a renewing PATCH), `subscriptionRemoved` (the subscription is gone)
  and `missed` (some notifications were lost). The control API triggers them:
  `POST /_sandbox/microsoft/lifecycle`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from werkzeug.wrappers import Request, Response

from sandbox.microsoft_events import fail, json_body, parse_time, stamp
from sandbox.microsoft_identity import PROVIDER, tenant_id, user_id
from sandbox.push import Push
from sandbox.server import Gate, Site, json_response
from sandbox.state import Calendar, Change, Channel, Invalid, Mailbox, State, now

GRAPH = "/graph/v1.0"
SUBSCRIPTION_LIMIT = timedelta(minutes=10080)
HANDSHAKE_TIMEOUT = 10
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
RESOURCE = re.compile(
    r"/?me/(?:events|calendar/events|calendars/([^/(]+)/events|calendars\('([^']+)'\)/events)",
    re.IGNORECASE,
)

# (state, mailbox, calendar id) -> the calendar, if the mailbox may read its events.
Readable = Callable[[State, Mailbox, str], tuple[Calendar, Any]]


def _validation_answered(state: State, url: str) -> bool:
    """Graph's handshake: the endpoint must echo the token as text/plain within 10 s."""
    token = (
        "Validation: Testing client application reachability for subscription "
        f"Request-Id: {uuid.uuid4()}"
    )
    try:
        answer = requests.post(
            url,
            params={"validationToken": token},
            data=b"",
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=HANDSHAKE_TIMEOUT,
            verify=state.settings.push_ca_file or True,
        )
    except requests.RequestException:
        return False
    content_type = answer.headers.get("Content-Type", "")
    return (
        answer.status_code == 200 and content_type.startswith("text/plain") and answer.text == token
    )


def _expiration(value: Any) -> datetime:
    moment = parse_time(value, "expirationDateTime")
    if moment <= now():
        fail(400, "InvalidRequest", "Subscription expiration must be in the future.")
    if moment > now() + SUBSCRIPTION_LIMIT:
        fail(
            400,
            "InvalidRequest",
            "Subscription expiration can only be 10080 minutes in the future.",
        )
    return moment


def _check_url(state: State, value: Any, name: str) -> str:
    url = str(value or "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        fail(400, "InvalidRequest", f"Invalid {name}='{url}'.")
    if parts.scheme == "http" and not state.settings.allow_http_push:
        fail(400, "InvalidRequest", f"{name[0].upper()}{name[1:]} scheme='http' is not supported.")
    return url


def _subscription_request(
    state: State, mailbox: Mailbox, body: dict[str, Any], readable: Readable
) -> tuple[Calendar, datetime]:
    """The calendar and expiry a subscription request names, or a 400/403/404."""
    match = RESOURCE.fullmatch(str(body.get("resource") or ""))
    if match is None:
        fail(400, "InvalidRequest", f"Unsupported resource '{body.get('resource')}'.")
    calendar_id = match.group(1) or match.group(2) or "primary"
    kinds = {kind.strip() for kind in str(body.get("changeType") or "").split(",")}
    if not kinds or not kinds <= {"created", "updated", "deleted"}:
        fail(400, "InvalidRequest", "changeType must list created, updated and/or deleted.")
    if len(str(body.get("clientState") or "")) > 128:
        fail(400, "InvalidRequest", "clientState must not exceed 128 characters.")
    _check_url(state, body.get("notificationUrl"), "notificationUrl")
    if body.get("lifecycleNotificationUrl"):
        _check_url(state, body["lifecycleNotificationUrl"], "lifecycleNotificationUrl")
    calendar, _ = readable(state, mailbox, calendar_id)
    return calendar, _expiration(body.get("expirationDateTime"))


def subscription_resource(channel: Channel, change_type: str) -> dict[str, Any]:
    return {
        "id": channel.id,
        "resource": channel.resource_uri,
        "changeType": change_type,
        "clientState": channel.token or None,
        "notificationUrl": channel.address,
        "lifecycleNotificationUrl": channel.lifecycle_address or None,
        "expirationDateTime": stamp(channel.expiration or now()),
        "creatorId": user_id(channel.email),
        "latestSupportedTlsVersion": "v1_2",
        "includeResourceData": False,
    }


def push_format(channel: Channel, number: int, change: Change | None) -> Push:
    """A Graph change notification. Graph sends nothing when a subscription starts (it
    validates the URL instead), so `change` is only None if someone asks for a handshake."""
    kind = change.kind if change else "updated"
    event_id = change.event_id if change else ""
    resource = f"Users/{user_id(channel.email)}/Events/{event_id}"
    item = {
        "subscriptionId": channel.id,
        "subscriptionExpirationDateTime": stamp(channel.expiration or now()),
        "changeType": kind,
        "resource": resource,
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.id": resource,
            "id": event_id,
        },
        "clientState": channel.token or None,
        "tenantId": tenant_id(channel.email),
    }
    return _json_push(kind, {"value": [item]})


def lifecycle_push(channel: Channel, event: str) -> Push:
    """A lifecycle notification, shaped as the lifecycle events page documents it."""
    item = {
        "subscriptionId": channel.id,
        "subscriptionExpirationDateTime": stamp(channel.expiration or now()),
        "tenantId": tenant_id(channel.email),
        "clientState": channel.token or None,
        "lifecycleEvent": event,
    }
    return _json_push(event, {"value": [item]}, channel.lifecycle_address)


def _json_push(label: str, payload: dict[str, Any], address: str = "") -> Push:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    return Push(label, headers, json.dumps(payload).encode(), address)


def register_subscriptions(site: Site, read: Gate, readable: Readable) -> None:
    state = site.state
    # What each subscription asked to hear about, only echoed back when it is read: Channel
    # has no field for it, and notifications go out for every change anyway.
    change_types: dict[str, str] = {}

    def render(channel: Channel) -> dict[str, Any]:
        return subscription_resource(
            channel, change_types.get(channel.id, "created,updated,deleted")
        )

    def own_channel(mailbox: Mailbox, subscription_id: str) -> Channel:
        channel = state.data.channels.get(subscription_id)
        if (
            channel is None
            or channel.provider != PROVIDER
            or channel.email != mailbox.email
            or not channel.active(now())
        ):
            fail(404, "ResourceNotFound", f"The object '{subscription_id}' doesn't exist.")
        return channel

    def create(request: Request, mailbox: Mailbox) -> Response:
        # Runs without the state lock: the handshake waits on the client's endpoint, which
        # may itself call the sandbox meanwhile.
        body = json_body(request)
        with state.lock:
            calendar, expiration = _subscription_request(state, mailbox, body, readable)
        urls = [body["notificationUrl"], body.get("lifecycleNotificationUrl")]
        if not all(_validation_answered(state, url) for url in urls if url):
            fail(
                400,
                "ValidationError",
                "Subscription validation request failed. Response "
                "must exactly match validationToken query parameter.",
            )
        with state.lock:
            channel = state.add_channel(
                Channel(
                    str(uuid.uuid4()),
                    PROVIDER,
                    mailbox.email,
                    calendar.id,
                    body["notificationUrl"],
                    str(body.get("clientState") or ""),
                    resource_uri=str(body["resource"]),
                    expiration=expiration,
                    lifecycle_address=str(body.get("lifecycleNotificationUrl") or ""),
                )
            )
            change_types[channel.id] = str(body["changeType"])
            return json_response(render(channel), 201)

    def get(request: Request, mailbox: Mailbox, subscription_id: str) -> Response:
        return json_response(render(own_channel(mailbox, subscription_id)))

    def renew(request: Request, mailbox: Mailbox, subscription_id: str) -> Response:
        channel = own_channel(mailbox, subscription_id)
        body = json_body(request)
        if "lifecycleNotificationUrl" in body:
            # Documented as impossible; the exact answer is the sandbox's choice.
            fail(
                400,
                "InvalidRequest",
                "lifecycleNotificationUrl can only be set when a subscription is created.",
            )
        channel.expiration = _expiration(body.get("expirationDateTime"))
        channel.paused = False  # renewing also reauthorizes
        return json_response(render(channel))

    def reauthorize(request: Request, mailbox: Mailbox, subscription_id: str) -> Response:
        own_channel(mailbox, subscription_id).paused = False
        return Response(status=204)

    def delete(request: Request, mailbox: Mailbox, subscription_id: str) -> Response:
        state.stop_channel(PROVIDER, own_channel(mailbox, subscription_id).id)
        return Response(status=204)

    one = GRAPH + "/subscriptions/<subscription_id>"
    site.api_route(GRAPH + "/subscriptions", ["POST"], read, create, locked=False)
    site.api_route(one, ["GET"], read, get)
    site.api_route(one, ["PATCH"], read, renew)
    site.api_route(one, ["DELETE"], read, delete)
    site.api_route(one + "/reauthorize", ["POST"], read, reauthorize)
    site.route("/_sandbox/microsoft/lifecycle", ["POST"], lambda r: _lifecycle(site, r))


def _lifecycle(site: Site, request: Request) -> Response:
    """Control API: a lifecycle event for the matching live subscriptions (every one of the
    mailbox, or just `subscription_id`), with its effect and its notification."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("event") not in LIFECYCLE_EVENTS:
        raise Invalid(f"event must be one of {', '.join(LIFECYCLE_EVENTS)}")
    email = str(body.get("email") or "").lower()
    wanted = str(body.get("subscription_id") or "")
    channels = [
        c
        for c in site.state.data.channels.values()
        if c.provider == PROVIDER
        and c.active(now())
        and email in ("", c.email)
        and wanted in ("", c.id)
    ]
    for channel in channels:
        if channel.lifecycle_address:
            site.notifier.deliver(channel, lifecycle_push(channel, body["event"]))
        if body["event"] == "reauthorizationRequired":
            channel.paused = True  # change notifications are lost until reauthorized
        elif body["event"] == "subscriptionRemoved":
            channel.stopped = True
    return json_response({"event": body["event"], "subscriptions": [c.id for c in channels]})
