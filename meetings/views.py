import zoneinfo
from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from calendars.status import connection_status
from meetings import availability as engine
from meetings import booking as booking_service
from meetings import requests as meeting_requests
from meetings import slots, urlrules
from meetings.forms import WEEKDAYS, DeclineForm, PageForm, ProposeTimeForm
from meetings.models import Booking, SchedulingPage


def _my_pages(user):
    return SchedulingPage.objects.filter(Q(owner=user) | Q(members=user)).distinct()


@login_required
def dashboard(request):
    connection = request.user.calendar_connections.prefetch_related("calendars").first()
    context = {
        "connection": connection,
        "connection_status": connection_status(connection) if connection else None,
        "pages": [
            (page, urlrules.page_url(page), slots.page_health(page))
            for page in _my_pages(request.user).select_related("owner")
        ],
        "pages_enabled": slots.pages_enabled_for(request.user),
        "requests": meeting_requests.open_requests(request.user)[:20],
        "upcoming": Booking.objects.filter(
            host=request.user, end__gte=timezone.now(), status=Booking.Status.CONFIRMED
        )
        .select_related("page")
        .order_by("start")[:10],
    }
    return render(request, "meetings/dashboard.html", context)


@login_required
def page_edit(request, page_id: int | None = None):
    page = get_object_or_404(SchedulingPage, pk=page_id, owner=request.user) if page_id else None
    form = PageForm(request.POST or None, instance=page, user=request.user)
    if request.method == "POST" and form.is_valid():
        page = form.save()
        messages.success(
            request, f"“{page.name}” is saved and published at {urlrules.page_url(page)}."
        )
        return redirect("meetings:dashboard")
    context = {
        "form": form,
        "page": page,
        "weekdays": WEEKDAYS,
        "public_url": urlrules.page_url(page) if page else None,
        "base_url": urlrules.base_url(request.user.pk),
    }
    return render(request, "meetings/page_form.html", context, status=400 if form.errors else 200)


@login_required
def page_why(request, page_id: int):
    """“Why isn't this time available?” for the page's owner."""
    page = get_object_or_404(SchedulingPage, pk=page_id, owner=request.user)
    explanation, asked, error = None, None, ""
    if request.GET.get("when"):
        try:
            asked = datetime.fromisoformat(request.GET["when"]).replace(
                tzinfo=zoneinfo.ZoneInfo(page.timezone)
            )
        except ValueError:
            error = "Pick a date and time."
        if asked is not None and abs(asked - timezone.now()) > timedelta(days=3650):
            asked, error = None, "Pick a time within the next ten years."
    if asked is not None:
        duration = page.durations[0]
        rules = slots.page_rules(page, duration)
        data = slots.load_hosts(
            slots.page_hosts(page), (asked, asked + rules.duration), labels=True
        )
        everyone = slots.Plan(slots.PageState.LIVE, tuple(data.host_ids))
        explanation = [
            (
                m.id,
                engine.explain(rules, asked, now=timezone.now(), busy=m.busy, bookings=m.bookings),
            )
            for m in slots.members(everyone, rules, data)
        ]
    context = {
        "page": page,
        "explanation": explanation,
        "asked": asked,
        "error": error,
        "health": slots.page_health(page),
    }
    return render(request, "meetings/page_why.html", context, status=400 if error else 200)


# --- Meeting requests -------------------------------------------------------------------


@login_required
def request_detail(request, booking_id: int):
    """A meeting request, with the host's three answers: accept, propose, decline."""
    booking = get_object_or_404(meeting_requests.for_host(request.user), pk=booking_id)
    zone = timezone.get_current_timezone()
    propose_form = ProposeTimeForm(zone=zone, prefix="propose")
    decline_form = DeclineForm(prefix="decline")
    status, error = 200, ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "accept":
                meeting_requests.accept(booking.pk, request.user)
                messages.success(
                    request, f"Accepted: {booking.first_name} was sent the invitation."
                )
                return redirect("meetings:dashboard")
            if action == "propose":
                propose_form = ProposeTimeForm(request.POST, zone=zone, prefix="propose")
                if propose_form.is_valid():
                    data = propose_form.cleaned_data
                    meeting_requests.propose(
                        booking.pk, request.user, data["start"], data["message"]
                    )
                    messages.success(request, f"Your proposal was sent to {booking.email}.")
                    return redirect("meetings:request", booking.pk)
                status = 400
            elif action == "decline":
                decline_form = DeclineForm(request.POST, prefix="decline")
                if decline_form.is_valid():
                    meeting_requests.decline(
                        booking.pk, request.user, decline_form.cleaned_data["message"]
                    )
                    messages.success(request, f"Declined; {booking.first_name} was told.")
                    return redirect("meetings:dashboard")
                status = 400
            else:
                status, error = 400, "Choose accept, propose or decline."
        except booking_service.BookingError as exc:
            status, error = exc.status, exc.message
        booking.refresh_from_db()
    context = {
        "booking": booking,
        "propose_form": propose_form,
        "decline_form": decline_form,
        "error": error,
    }
    return render(request, "meetings/request.html", context, status=status)


@login_required
def request_for_meeting(request, meeting_id: int):
    """From a CRM meeting (the contact record) to the request it came from."""
    booking = get_object_or_404(meeting_requests.for_host(request.user), crm_meeting_id=meeting_id)
    return redirect("meetings:request", booking.pk)
