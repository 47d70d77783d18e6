from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from calendars.status import connection_status
from meetings.models import SchedulingPage


@login_required
def dashboard(request):
    connection = request.user.calendar_connections.prefetch_related("calendars").first()
    context = {
        "connection": connection,
        "connection_status": connection_status(connection) if connection else None,
        "pages": SchedulingPage.objects.filter(owner=request.user),
    }
    return render(request, "meetings/dashboard.html", context)
