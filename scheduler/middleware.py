import zoneinfo

from django.http import HttpResponseNotFound, JsonResponse
from django.utils import timezone

from scheduler import inputs


class UserTimezoneMiddleware:
    """Show times in the signed-in user's own time zone; the database stays in UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.timezone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


class RejectMalformedRequests:
    """Refuse, before any view or query, what can never be valid input: a NUL character or
    an undecodable sequence in the path (404: no such page can exist) or in a query parameter
    (400). PostgreSQL would refuse the NUL with an error deep inside a view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if inputs.text_problem(request.path) or "\ufffd" in request.path:
            return HttpResponseNotFound("Not found.", content_type="text/plain")
        for key, values in request.GET.lists():
            for value in (key, *values):
                problem = inputs.text_problem(value)
                if problem:
                    body = {"error": "Some fields are not valid.", "errors": {key: problem}}
                    return JsonResponse(body, status=400)
        return self.get_response(request)
