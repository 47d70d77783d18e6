import zoneinfo
from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from calendars.status import connection_status
from meetings import availability as engine
from meetings import slots, urlrules
from meetings.forms import WEEKDAYS, PageForm
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
            (page, urlrules.page_url(page))
            for page in _my_pages(request.user).select_related("owner")
        ],
        "pages_enabled": slots.pages_enabled_for(request.user),
        "upcoming": Booking.objects.filter(host=request.user, end__gte=timezone.now())
        .exclude(status=Booking.Status.CANCELLED)
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
        data = slots.load_hosts(slots.page_hosts(page), (asked, asked + rules.duration))
        explanation = [
            (
                host_id,
                engine.explain(rules, asked, now=timezone.now(), busy=m.busy, bookings=m.bookings),
            )
            for host_id, m in ((m.id, m) for m in slots.members(page, rules, data))
        ]
    context = {"page": page, "explanation": explanation, "asked": asked, "error": error}
    return render(request, "meetings/page_why.html", context, status=400 if error else 200)
