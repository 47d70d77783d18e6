from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from scheduler import plans


@login_required
def calendar_settings(request):
    """Settings > General > Calendar. Connection flows arrive with issue 4."""
    context = {"connect_gate": plans.connect_calendar(request.user), "active_tab": "calendar"}
    return render(request, "calendars/calendar_settings.html", context)
