"""The widget's public side: the loader script, the chat frame and the frame's JSON calls.

The loader runs on the account's website and only adds a launcher button and an iframe of
this app's origin; everything else happens inside that frame, whose calls are same-origin.
So no CORS is needed at all and none is granted: no Access-Control-* header is sent here.
The frame may be framed only by the account's allowed origins (CSP frame-ancestors).

Every call is scoped by the widget's public key (which account) and the visitor's id (which
conversation, scheduler.csrf / chat.visitors explain why it is a header): an id presented to
another account's key finds nothing. Errors are JSON `{"error", "errors": {field: message}}`.
"""

from __future__ import annotations

import hashlib
from functools import cache, wraps
from pathlib import Path

from django.conf import settings
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseNotModified,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat import booking as chat_booking
from chat import limits, presence, services, visitors
from chat.forms import AfterForm, MessageForm, ReadForm, VisitorContactForm
from chat.models import ChatWidget, Conversation
from chat.payloads import booking_json, message_json
from meetings import booking as booking_service
from meetings import slots, urlrules
from meetings.forms import BookingForm
from meetings.models import Booking
from scheduler import inputs
from scheduler.csp import allow_framing, allow_images, embed_origins
from scheduler.csrf import csrf_protect_by_origin, own_origin
from scheduler.forms import timezone_choices

LOADER = Path(__file__).with_name("widget") / "loader.js"


# --- The loader script ------------------------------------------------------------------


def _read_loader() -> tuple[bytes, str]:
    content = LOADER.read_bytes()
    return content, f'"{hashlib.sha256(content).hexdigest()[:24]}"'


_cached_loader = cache(_read_loader)


@require_GET
def loader(request):
    """/chat/widget.js: small, cacheable for an hour, revalidated by its ETag."""
    content, etag = _read_loader() if settings.DEBUG else _cached_loader()
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(content, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=3600"
    # Loadable from any website, also ones that isolate themselves (COEP).
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


# --- Helpers ----------------------------------------------------------------------------


def _widget(key: str) -> ChatWidget:
    widget = services.find_widget(key)
    if widget is None:
        raise Http404("No such chat widget.")
    return widget


def _errors(fields: dict[str, str], status: int = 400, message: str = "") -> JsonResponse:
    return JsonResponse(
        {"error": message or "Some fields are not valid.", "errors": fields}, status=status
    )


def _form_errors(form) -> JsonResponse:
    return _errors({name: errors[0] for name, errors in form.errors.items()})


def _payload(request) -> dict:
    """The JSON object of the body (scheduler.inputs: small, shallow, storable text); raises
    BadInput, which `_json_errors` turns into the usual JSON error."""
    return inputs.json_object(request)


def _json_errors(view):
    """A refused input is a JSON error with its status (400, or 413 for a large body)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except inputs.BadInput as exc:
            return _errors(exc.fields, status=exc.status, message=exc.message)

    return wrapper


TOO_MANY = "Too many messages. Please wait a minute."


def _parent_origin(widget: ChatWidget, origin: str | None) -> str:
    """The website's origin as the loader reported it, if it is one allowed to embed."""
    return origin if origin and origin in embed_origins(widget.account) else ""


def _frame_path(widget: ChatWidget) -> str:
    return reverse("chat_widget:frame", args=[widget.key])


def _answer(request, widget, visitor_id: str, body: dict, status: int = 200) -> JsonResponse:
    """A JSON answer that hands the visitor id back (new or not) to the frame's storage."""
    response = JsonResponse({"visitor": visitor_id, **body}, status=status)
    visitors.remember(request, response, visitor_id, _frame_path(widget))
    return response


# --- The frame --------------------------------------------------------------------------


@require_GET
def frame(request, key: str):
    widget = _widget(key)
    owner = widget.owner
    profile = services.profile_of(owner)
    page = profile.meeting_page if profile is not None else None
    rules = presence.working_rules(page, owner.timezone if owner else "UTC")
    there = presence.presence(rules, timezone.now())
    allowed = embed_origins(widget.account)
    context = {
        "widget": widget,
        "profile": profile,
        "team_name": profile.name if profile else widget.account.name,
        "presence": there,
        "booking_page": profile.booking_page if profile else None,
        "visitor_id": visitors.from_cookie(request) or "",
        "parent_origin": _parent_origin(widget, request.GET.get("origin")),
        "allowed_origins": allowed,
    }
    response = render(request, "chat/frame.html", context)
    response["Cache-Control"] = "private, no-store"
    if profile is not None and profile.photo_url:
        allow_images(response, [profile.photo_url])
    return allow_framing(response, allowed)


# --- The frame's calls ------------------------------------------------------------------


@csrf_protect_by_origin
@never_cache
@require_http_methods(["GET", "POST"])
@_json_errors
def messages(request, key: str):
    """GET: the visitor's messages after `after` (the frame polls this). POST: write one."""
    widget = _widget(key)
    if request.method == "POST":
        return _send(request, widget)
    form = AfterForm(request.GET)
    if not form.is_valid():
        return _form_errors(form)
    conversation = services.find_conversation(widget, visitors.from_header(request))
    if conversation is None:
        return JsonResponse({"conversation": False, "messages": [], "read_upto": 0, "email": ""})
    rows = services.messages_after(conversation, form.cleaned_data["after"] or 0)
    return JsonResponse(
        {
            "conversation": True,
            "messages": [message_json(message, for_visitor=True) for message in rows],
            "read_upto": conversation.visitor_read_upto,
            "email": conversation.visitor_email,
        }
    )


def _send(request, widget: ChatWidget) -> JsonResponse:
    visitor_id = visitors.from_header(request)
    conversation = services.find_conversation(widget, visitor_id)
    if limits.limited(request, visitor_id, new_conversation=conversation is None):
        return _errors({}, status=429, message=TOO_MANY)
    payload = _payload(request)
    form = MessageForm(payload)
    if not form.is_valid():
        return _form_errors(form)
    if conversation is None:
        origin = _parent_origin(widget, payload.get("origin"))
        conversation, visitor_id = services.start_conversation(widget, origin)
    message = services.post_visitor_message(conversation, form.cleaned_data["body"])
    return _answer(
        request,
        widget,
        visitor_id,
        {"message": message_json(message, for_visitor=True)},
        status=201,
    )


def _known_or_new(request, widget: ChatWidget, payload: dict) -> tuple[Conversation, str]:
    origin = _parent_origin(widget, payload.get("origin"))
    return services.conversation_for(widget, visitors.from_header(request), origin)


@csrf_protect_by_origin
@never_cache
@require_POST
@_json_errors
def contact(request, key: str):
    """The visitor leaves their email (and name): the conversation gets its CRM contact."""
    widget = _widget(key)
    visitor_id = visitors.from_header(request)
    known = services.find_conversation(widget, visitor_id) is not None
    if limits.limited(request, visitor_id, new_conversation=not known):
        return _errors({}, status=429, message=TOO_MANY)
    payload = _payload(request)
    form = VisitorContactForm(payload)
    if not form.is_valid():
        return _form_errors(form)
    conversation, visitor_id = _known_or_new(request, widget, payload)
    services.identify_visitor(conversation, **form.cleaned_data)
    return _answer(request, widget, visitor_id, {"email": conversation.visitor_email})


@csrf_protect_by_origin
@never_cache
@require_POST
@_json_errors
def read(request, key: str):
    """The visitor has seen the messages up to `upto`."""
    widget = _widget(key)
    conversation = services.find_conversation(widget, visitors.from_header(request))
    if conversation is None:
        raise Http404("No conversation.")
    form = ReadForm(_payload(request))
    if not form.is_valid():
        return _form_errors(form)
    services.mark_read_by_visitor(conversation, form.cleaned_data["upto"])
    return HttpResponse(status=204)


@csrf_protect_by_origin
@never_cache
@require_POST
@_json_errors
def booking_link(request, key: str):
    """The widget's "Book a meeting": a signed link to the chat's page for this conversation."""
    widget = _widget(key)
    profile = services.profile_of(widget.owner)
    page = profile.booking_page if profile is not None else None
    if page is None:
        raise Http404("This chat offers no meeting link.")
    visitor_id = visitors.from_header(request)
    known = services.find_conversation(widget, visitor_id) is not None
    if limits.limited(request, visitor_id, new_conversation=not known):
        return _errors({}, status=429, message=TOO_MANY)
    conversation, visitor_id = _known_or_new(request, widget, _payload(request))
    url = request.build_absolute_uri(chat_booking.booking_link(widget, conversation, page))
    return _answer(request, widget, visitor_id, {"url": url}, status=201)


# --- Booking from the chat --------------------------------------------------------------


@csrf_protect_by_origin
@never_cache
@require_http_methods(["GET", "POST"])
@_json_errors
def book(request, key: str, token: str):
    """The chat's scheduling page behind a booking link (GET), and its booking (POST)."""
    widget = _widget(key)
    # Framed by the chat frame, itself framed by the account's website: both must be allowed.
    framers = ["'self'", *embed_origins(widget.account)]
    found = chat_booking.read_link(widget, token)
    if found is None:
        response = render(request, "chat/link_expired.html", status=404)
        return allow_framing(response, framers)
    conversation, page = found
    if request.method == "POST":
        return _book(request, widget, conversation, page)
    if not slots.pages_enabled(page):
        context = {"page": page, "embed": True}
        response = render(request, "meetings/public/unavailable.html", context, status=404)
        return allow_framing(response, framers)
    first_name, _, last_name = conversation.visitor_name.partition(" ")
    context = {
        "embed": True,
        "book_url": request.path,
        # Inside the widget the parent is the chat frame, of this very origin.
        "parent_origins": [own_origin(request)],
        "page": page,
        "questions": page.questions,
        "durations": page.durations,
        "timezones": timezone_choices(),
        "prefill": {
            "first_name": first_name,
            "last_name": last_name,
            "email": conversation.visitor_email,
        },
        "remembered": False,
        "rescheduling": None,
    }
    response = render(request, "meetings/public/page.html", context)
    return allow_framing(response, framers)


def _book(request, widget, conversation, page) -> JsonResponse:
    if limits.booking_limited(request):
        return _errors({}, status=429, message="Too many attempts. Please wait a minute.")
    payload = _payload(request)
    form = BookingForm(payload, page=page)
    if not form.is_valid():
        return _form_errors(form)
    try:
        booking = chat_booking.book(conversation, page, form)
    except booking_service.BookingError as exc:
        return _errors(exc.fields, status=exc.status, message=exc.message)
    return JsonResponse(_booking_json(booking), status=201)


def _booking_json(booking: Booking) -> dict:
    return {
        **booking_json(booking),
        "id": booking.pk,
        "manage_url": urlrules.manage_url(booking),
    }
