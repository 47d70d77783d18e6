"""The public side of scheduling pages: the booking page, its JSON endpoints, the manage link."""

from __future__ import annotations

import json
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.decorators import ratelimit

from meetings import booking as booking_service
from meetings import requests as meeting_requests
from meetings import slots, urlrules, visitor
from meetings.emails import ics_for
from meetings.forms import BookingForm
from meetings.models import Booking, SchedulingPage
from meetings.visitor import VISITOR_COOKIE, VISITOR_SALT
from scheduler import availability_cache
from scheduler.csp import allow_framing, embed_origins
from scheduler.csrf import csrf_protect_by_origin
from scheduler.forms import timezone_choices

MAX_RANGE_DAYS = 62
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


def _zone(name: str | None, default: str) -> str | None:
    name = name or default
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    return name


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


@require_GET
def slot_list(request, slug: str):
    page = _page(request, slug)
    errors, tz, first, last = {}, _zone(request.GET.get("tz"), page.timezone), None, None
    if tz is None:
        errors["tz"] = "Unknown time zone."
    try:
        first = date.fromisoformat(request.GET.get("start", ""))
        last = date.fromisoformat(request.GET.get("end", ""))
    except ValueError:
        errors["start"] = "start and end must be dates like 2026-03-01."
    today = timezone.now().date()
    if first and not today - timedelta(days=366) <= first <= today + timedelta(days=3650):
        errors["start"] = "start must be within a year ago and ten years ahead."
    elif first and last and not first <= last <= first + timedelta(days=MAX_RANGE_DAYS):
        errors["end"] = f"end must be on or after start, and at most {MAX_RANGE_DAYS} days later."
    duration = _duration(request.GET.get("duration"), page, errors)
    if errors:
        return _errors(errors)
    if not slots.pages_enabled(page):
        raise Http404("This scheduling page is not available.")
    hosts = slots.page_hosts(page)
    now = timezone.now()
    minute = now.strftime("%Y%m%d%H%M")
    versions = availability_cache.versions(hosts)
    key = f"slots:{page.pk}:{duration}:{tz}:{first}:{last}:{minute}:{versions}"
    body = cache.get(key)
    if body is None:
        body = _slots_body(page, hosts, tz, first, last, duration, now)
        cache.set(key, body, SLOTS_CACHE_SECONDS)
    return JsonResponse(body)


def _rescheduling(page: SchedulingPage, token: str) -> Booking | None:
    """The booking a manage link is moving on this page; the URL it posts to is built here,
    never from the address bar."""
    if not token:
        return None
    return Booking.objects.filter(
        page=page, manage_token=token, status=Booking.Status.CONFIRMED
    ).first()


def _slots_body(page, hosts, tz, first, last, duration, now) -> dict:
    zone = zoneinfo.ZoneInfo(tz)
    window = (
        datetime.combine(first, time(0), zone).astimezone(UTC),
        datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC),
    )
    data = slots.load_hosts(hosts, window)
    plan = data.plan(page.kind)
    rules = slots.page_rules(page, duration)
    offered = slots.offered_slots(page, plan, rules, data, window, now)
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


def _duration(raw: str | None, page: SchedulingPage, errors: dict) -> int:
    if not raw:
        return page.durations[0]
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value not in page.durations:
        errors["duration"] = f"Offered durations: {', '.join(map(str, page.durations))} minutes."
    return value


def _limited(view):
    """Bookings and changes from one address are capped (BOOKING_RATE_LIMIT): a 429 with the
    usual JSON error shape, so scripts cannot flood a host's calendar."""

    @ratelimit(
        key="ip",
        rate=lambda group, request: settings.BOOKING_RATE_LIMIT,
        method="POST",
        block=False,
        group="meetings.booking",
    )
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if getattr(request, "limited", False):
            return _errors({}, status=429, message="Too many attempts. Please wait a minute.")
        return view(request, *args, **kwargs)

    return wrapper


@csrf_protect_by_origin  # an embedded page gets no CSRF cookie on another site
@require_POST
@_limited
def book(request, slug: str):
    page = _page(request, slug)
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        return _errors({"body": "Send a JSON object."})
    if not isinstance(payload, dict):
        return _errors({"body": "Send a JSON object."})
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


@require_GET
def manage(request, token: str):
    booking = _booking(token)
    context = {"booking": booking, "page": booking.page, "just_booked": "new" in request.GET}
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
        booking = _booking(token)
        context = {"booking": booking, "page": booking.page, "error": exc.message}
        return render(request, "meetings/public/manage.html", context, status=exc.status)
    return redirect("public:manage", token)


@require_POST
@_limited
def manage_cancel(request, token: str):
    """Cancel a booking, or withdraw a meeting request."""
    return _manage_answer(request, token, lambda: booking_service.cancel(token))


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
        payload = json.loads(request.body or b"{}")
        start = datetime.fromisoformat(payload["start"])
        if start.tzinfo is None:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return _errors({"start": "Send start as an ISO 8601 time with its UTC offset."})
    try:
        booking = booking_service.reschedule(token, start)
    except booking_service.BookingError as exc:
        return _errors(exc.fields, status=exc.status, message=exc.message)
    return JsonResponse(_booking_json(request, booking))
