"""Push notification receivers. Each one authenticates the notification against the
channel's secret and makes the connection due for a sync at once; nothing else."""

import logging

from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calendars import push, sync
from calendars.models import Calendar
from scheduler import inputs

logger = logging.getLogger(__name__)


# Graph batches notifications; a body past this is not one of them.
MAX_NOTIFICATION_BYTES = 1024 * 1024


def _calendar_for(channel_id: str, token: str) -> Calendar | None:
    if not channel_id or inputs.text_problem(channel_id) or inputs.text_problem(token or ""):
        return None  # not an id this app ever issued
    calendar = Calendar.objects.filter(channel_id=channel_id).exclude(channel_id="").first()
    if calendar is None or not push.token_matches(calendar, token or ""):
        return None
    return calendar


def google(request):
    calendar = _calendar_for(
        request.headers.get("X-Goog-Channel-ID", ""),
        request.headers.get("X-Goog-Channel-Token", ""),
    )
    if calendar is None:
        return HttpResponseNotFound("unknown channel")
    if request.headers.get("X-Goog-Resource-State") != "sync":  # "sync" only opens a channel
        sync.queue_sync(calendar.connection_id)
    return HttpResponse(status=200)


def microsoft(request):
    token = request.GET.get("validationToken")
    if token is not None:
        # Graph's subscription handshake: echo the token as plain text.
        return HttpResponse(token, content_type="text/plain")
    try:
        notifications = inputs.json_object(request, MAX_NOTIFICATION_BYTES).get("value", [])
    except inputs.BadInput as exc:
        return HttpResponseBadRequest(exc.message, status=exc.status)
    due = set()
    for item in notifications if isinstance(notifications, list) else []:
        if not isinstance(item, dict):
            continue
        calendar = _calendar_for(
            str(item.get("subscriptionId", "")), str(item.get("clientState", ""))
        )
        if calendar is not None:
            due.add(calendar.connection_id)
    for connection_id in due:
        sync.queue_sync(connection_id)
    return HttpResponse(status=202)


RECEIVERS = {"google": google, "microsoft": microsoft}


@csrf_exempt  # providers post here; each receiver checks the channel's own secret
@require_POST
def receive(request, provider: str):
    receiver = RECEIVERS.get(provider)
    if receiver is None:
        return HttpResponseNotFound()
    return receiver(request)
