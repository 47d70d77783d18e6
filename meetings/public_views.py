"""The public side of scheduling pages: the booking page, its JSON endpoints, the manage link."""

from __future__ import annotations

import hashlib
import json
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from functools import wraps

import orjson
from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from meetings import booking as booking_service
from meetings import policies, slots, urlrules, visitor
from meetings import requests as meeting_requests
from meetings.emails import ics_for
from meetings.forms import BookingForm, CancelForm, RescheduleForm, SlotsQueryForm
from meetings.models import Booking, SchedulingPage
from meetings.visitor import VISITOR_COOKIE, VISITOR_SALT
from scheduler import availability_cache, inputs
from scheduler.csp import allow_framing, embed_origins
from scheduler.csrf import csrf_protect_by_origin
from scheduler.forms import timezone_choices

# Cached answers are keyed by the hosts' availability versions and the current minute.
SLOTS_CACHE_SECONDS = 120


def _page(request, slug: str) -> SchedulingPage:
    """The page for a slug; on a custom domain only that domain's account's pages exist."""
    pages = SchedulingPage.objects.select_related("owner", "account").filter(slug=slug.lower())
    if request.custom_domain is not None:
        pages = pages.filter(account_id=request.custom_domain.account_id)
    page = pages.first()
    if page is None:
        raise Http404("No such scheduling page.")
    return page


def _errors(fields: dict[str, str], status: int = 400, message: str = "") -> JsonResponse:
    return JsonResponse(
        {"error": message or "Some fields are not valid.", "errors": fields}, status=status
    )


@ensure_csrf_cookie
@require_GET
def page(request, slug: str):
    page = _page(request, slug)
    if canonical := urlrules.canonical_redirect(request, page):
        return HttpResponsePermanentRedirect(canonical)
    if not slots.pages_enabled(page):
        return render(request, "meetings/public/unavailable.html", {"page": page}, status=404)
    # ?embed=1: the page without chrome, for an iframe on the account's allowed origins; it
    # tells its parent about a booking with postMessage (README, "Embedding").
    embed = request.GET.get("embed") == "1"
    context = {
        "embed": embed,
        "parent_origins": embed_origins(page.account) if embed else [],
        "page": page,
        "questions": page.questions,
        "durations": page.durations,
        "timezones": timezone_choices(),
        "prefill": visitor.prefill(request),
        "remembered": bool(visitor.remembered(request)),
        "rescheduling": _rescheduling(page, request.GET.get("reschedule", "")),
    }
    response = render(request, "meetings/public/page.html", context)
    return allow_framing(response, context["parent_origins"]) if embed else response


def _throttled(rate_setting: str, group: str, method: str):
    """Requests from one address are capped (a setting, django-ratelimit's syntax): a 429
    with the usual JSON error shape. Slot lists are cached, but a flood of distinct queries
    would still compute each; bookings and changes are capped so that scripts cannot flood
    a host's calendar."""

    def decorate(view):
        @ratelimit(
            key="ip",
            rate=lambda group, request: getattr(settings, rate_setting),
            method=method,
            block=False,
            group=group,
        )
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if getattr(request, "limited", False):
                return _errors({}, status=429, message="Too many attempts. Please wait a minute.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


SLOTS_QUERY = ("start", "end", "tz", "duration", "reschedule")


def _slots_cache_key(request, slug: str) -> str:
    """The cache key of a slot list, from the request alone (no database): the host (a custom
    domain serves only its own account's pages), the page, the query as sent, and the minute
    (minimum notice moves with the clock). Only answers computed from a valid query are ever
    stored, so an invalid query never hits."""
    parts = [
        request.get_host().lower(),
        slug.lower(),
        *(request.GET.get(n, "") for n in SLOTS_QUERY),
    ]
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
    return f"slots:{digest}:{timezone.now():%Y%m%d%H%M}"


@require_GET
def slot_list(request, slug: str):
    """Free times of a page. A cached answer costs one cache read and no database query: it
    is used while the page's version (bumped by every change the answer depends on) is the
    one it was computed under."""
    key, version_key = _slots_cache_key(request, slug), availability_cache.page_key(slug)
    found = cache.get_many([key, version_key])
    version = found.get(version_key, 0)
    cached = found.get(key)
    if cached is not None and cached[0] == version:
        return HttpResponse(cached[1], content_type="application/json")
    return _computed_slots(request, slug, key, version)


@_throttled("SLOTS_RATE_LIMIT", "meetings.slots", "GET")
def _computed_slots(request, slug: str, key: str, version: int):
    page = _page(request, slug)
    form = SlotsQueryForm(request.GET, page=page)
    if not form.is_valid():
        return _errors({name: errs[0] for name, errs in form.errors.items()})
    if not slots.pages_enabled(page):
        raise Http404("This scheduling page is not available.")
    query = form.cleaned_data
    tz, first, last, duration = query["tz"], query["start"], query["end"], query["duration"]
    moving = None
    if query["reschedule"]:
        moving = _rescheduling(page, query["reschedule"])
        if moving is None:
            return _errors({"reschedule": "This meeting can no longer be moved online."})
    hosts = slots.page_hosts(page)
    body = _slots_body(page, hosts, tz, first, last, duration, timezone.now(), moving)
    content = orjson.dumps(body)
    cache.set(key, (version, content), SLOTS_CACHE_SECONDS)
    return HttpResponse(content, content_type="application/json")


def _rescheduling(page: SchedulingPage, token: str) -> Booking | None:
    """The booking a manage link is moving on this page; the URL it posts to is built here,
    never from the address bar."""
    if not token:
        return None
    booking = (
        Booking.objects.select_related("page", "host")
        .filter(page=page, manage_token=token, status=Booking.Status.CONFIRMED)
        .first()
    )
    return booking if booking and policies.reschedule(booking, timezone.now()) else None


def _slots_body(page, hosts, tz, first, last, duration, now, moving=None) -> dict:
    """The free times of the page, or with `moving`, the times that booking can move to (the
    same computation `booking.reschedule` decides with)."""
    zone = zoneinfo.ZoneInfo(tz)
    window = (
        datetime.combine(first, time(0), zone).astimezone(UTC),
        datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC),
    )
    if moving is not None:
        hosts = booking_service.reservation_hosts(moving)
    data = slots.load_hosts(hosts, window, exclude_booking_id=moving.pk if moving else None)
    plan = slots.moving_plan(data) if moving else data.plan(page.kind)
    rules = slots.rules_for(page, duration, hosts)
    kind = slots.MOVING if moving else page.kind
    offered = slots.offered_slots(kind, plan, rules, data, window, now)
    body = {
        "timezone": tz,
        "duration": duration,
        "mode": plan.mode,
        "slots": [
            {
                "start": s.start.astimezone(zone).isoformat(),
                "end": s.end.astimezone(zone).isoformat(),
            }
            for s in offered
        ],
    }
    return body


_limited = _throttled("BOOKING_RATE_LIMIT", "meetings.booking", "POST")


@csrf_protect_by_origin  # an embedded page gets no CSRF cookie on another site
@require_POST
@_limited
def book(request, slug: str):
    page = _page(request, slug)
    try:
        payload = inputs.json_object(request)
    except inputs.BadInput as exc:
        return _errors(exc.fields, status=exc.status, message=exc.message)
    form = BookingForm(payload, page=page)
    if not form.is_valid():
        return _errors({name: errs[0] for name, errs in form.errors.items()})
    try:
        booking = booking_service.book(
            page, form.cleaned_data["start"], form.cleaned_data["duration"], form.visitor()
        )
    except booking_service.BookingError as exc:
        return _errors(exc.fields, status=exc.status, message=exc.message)
    response = JsonResponse(_booking_json(request, booking), status=201)
    _remember_visitor(request, response, form.cleaned_data)
    return response


def _remember_visitor(request, response, data: dict) -> None:
    """On a custom domain, remember the visitor's details to prefill their next booking
    (SPEC §1.7). The app's own host is shared by every account, so it never does."""
    if request.custom_domain is None:
        return
    value = json.dumps({k: data[k] for k in ("first_name", "last_name", "email")})
    response.set_signed_cookie(
        VISITOR_COOKIE,
        value,
        salt=VISITOR_SALT,
        max_age=365 * 24 * 3600,
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


@require_GET
def robots(request):
    lines = ["User-agent: *"]
    domain = request.custom_domain
    if domain is not None:
        if domain.hide_meetings_from_search:
            lines.append("Disallow: /meetings*")
    else:
        lines += ["Disallow: /app/", "Disallow: /accounts/", "Disallow: /meetings/manage/"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


def _booking_json(request, booking: Booking) -> dict:
    zone = zoneinfo.ZoneInfo(booking.timezone)
    return {
        "id": booking.pk,
        "status": booking.status,
        "start": booking.start.astimezone(zone).isoformat(),
        "end": booking.end.astimezone(zone).isoformat(),
        "manage_url": request.build_absolute_uri(
            reverse("public:manage", args=[booking.manage_token])
        ),
    }


# --- Manage link ------------------------------------------------------------------------


def _booking(token: str) -> Booking:
    return get_object_or_404(Booking.objects.select_related("page", "host"), manage_token=token)


def _manage_context(booking: Booking, **extra) -> dict:
    now = timezone.now()
    return {
        "booking": booking,
        "page": booking.page,
        "can_cancel": policies.cancel(booking, now),
        "can_reschedule": policies.reschedule(booking, now),
        **extra,
    }


@require_GET
def manage(request, token: str):
    booking = _booking(token)
    context = _manage_context(booking, just_booked="new" in request.GET)
    return render(request, "meetings/public/manage.html", context)


@require_GET
def manage_ics(request, token: str):
    booking = _booking(token)
    cancelled = booking.status == Booking.Status.CANCELLED
    response = HttpResponse(ics_for(booking, cancelled=cancelled), content_type="text/calendar")
    response["Content-Disposition"] = 'attachment; filename="meeting.ics"'
    return response


def _manage_answer(request, token: str, change) -> HttpResponse:
    """Apply a contact's change, then show the manage page again (POST, redirect, GET); a
    refusal is shown on the page with its status."""
    _booking(token)
    try:
        change()
    except booking_service.BookingError as exc:
        context = _manage_context(_booking(token), error=exc.message)
        return render(request, "meetings/public/manage.html", context, status=exc.status)
    return redirect("public:manage", token)


@require_http_methods(["GET", "POST"])
@_limited
def manage_cancel(request, token: str):
    """Cancel a booking, or withdraw a meeting request: the contact confirms first (GET
    shows what happens, with the reason field when the page asks for one), the POST
    cancels and redirects to the manage page, so a refresh never cancels twice."""
    booking = _booking(token)
    if booking.status not in Booking.OPEN_STATUSES:
        return redirect("public:manage", token)
    form = CancelForm(request.POST if request.method == "POST" else None, booking=booking)
    status, error = 200, ""
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        else:
            try:
                booking_service.cancel(token, reason=form.cleaned_data.get("reason", ""))
            except booking_service.BookingError as exc:
                status, error = exc.status, exc.message
            else:
                return redirect("public:manage", token)
        booking = _booking(token)
    allowed = (
        policies.cancel(booking, timezone.now())
        if booking.status == Booking.Status.CONFIRMED
        else policies.Allowed(booking.is_request)
    )
    context = {"booking": booking, "form": form, "allowed": allowed, "error": error}
    return render(request, "meetings/public/cancel.html", context, status=status)


@require_POST
@_limited
def manage_accept_proposal(request, token: str):
    """The contact takes the time the host proposed for their request."""
    return _manage_answer(request, token, lambda: meeting_requests.accept_proposal(token))


@require_POST
@_limited
def manage_reschedule(request, token: str):
    booking = _booking(token)
    try:
        form = RescheduleForm(inputs.json_object(request))
    except inputs.BadInput as exc:
        return _errors(exc.fields, status=exc.status, message=exc.message)
    if not form.is_valid():
        return _errors({name: errs[0] for name, errs in form.errors.items()})
    try:
        booking = booking_service.reschedule(token, form.cleaned_data["start"])
    except booking_service.BookingError as exc:
        return _errors(exc.fields, status=exc.status, message=exc.message)
    return JsonResponse(_booking_json(request, booking))
