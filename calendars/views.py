import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from calendars import busy, connections, settings_page, sync
from calendars.forms import ConnectionOptionsForm, ExchangeConnectForm
from calendars.models import Calendar, CalendarConnection, Provider
from calendars.providers.base import (
    InvalidServer,
    ProviderError,
    ReconnectRequired,
    TransientError,
)
from calendars.signals import task_sync_changed
from calendars.status import calendar_status, connection_status
from scheduler import availability_cache

OAUTH_SESSION_KEY = "calendar_oauth"
OAUTH_MAX_AGE = 15 * 60  # seconds a consent screen may stay open


def _main_connection(user) -> CalendarConnection | None:
    return (
        user.calendar_connections.prefetch_related("calendars")
        .order_by("legacy_slot", "created_at")
        .first()
    )


@login_required
def calendar_settings(request):
    user = request.user
    connection = _main_connection(user)
    data = request.POST if request.method == "POST" else None
    options = (
        ConnectionOptionsForm(data, instance=connection, user=user, prefix="connection")
        if connection
        else None
    )
    sections = settings_page.bind(user, data)
    if data is not None:
        forms = [options] if options else []
        forms += [bound.form for bound in sections]
        if all(form.is_valid() for form in forms):
            with transaction.atomic():
                if options:
                    _save_options(options)
                for bound in sections:
                    bound.section.save(user, bound.form)
            messages.success(request, "Your calendar settings were saved.")
            return redirect("settings:calendar")
        messages.error(request, "Some settings could not be saved. Check the fields marked below.")
    context = {
        "active_tab": "calendar",
        "connections": _connection_cards(user),
        "connect_gate": connections.connect_gate(user),
        "providers": Provider.choices,
        "options": options,
        "sections": sections,
    }
    status = 400 if data is not None else 200
    return render(request, "calendars/calendar_settings.html", context, status=status)


def _save_options(form: ConnectionOptionsForm) -> None:
    connection = form.save()
    if "task_sync" in form.changed_data:
        transaction.on_commit(
            lambda: task_sync_changed.send(
                sender=CalendarConnection, connection_id=connection.pk, enabled=connection.task_sync
            )
        )
    chosen = {calendar.pk for calendar in form.cleaned_data["availability_calendars"]}
    for calendar in connection.calendars.filter(is_active=True):
        wanted = calendar.is_primary or calendar.pk in chosen
        if calendar.for_availability != wanted:
            calendar.for_availability = wanted
            calendar.save(update_fields=["for_availability"])
    busy.refresh(connection.user_id)
    # Newly chosen calendars need their events mirrored before pages can rely on them.
    sync.queue_sync(connection.pk)
    availability_cache.bump([connection.user_id])


def _connection_cards(user) -> list[dict]:
    cards = []
    for connection in user.calendar_connections.prefetch_related("calendars").order_by(
        "legacy_slot", "created_at"
    ):
        cards.append(
            {
                "connection": connection,
                "status": connection_status(connection),
                "calendars": [(c, calendar_status(c)) for c in connection.calendars.all()],
            }
        )
    return cards


# --- Connecting -------------------------------------------------------------------------


def _refuse_if_gated(request):
    gate = connections.connect_gate(request.user)
    if not gate:
        return render(
            request, "calendars/connect_refused.html", {"reason": gate.reason}, status=403
        )
    return None


def _redirect_uri(provider: str) -> str:
    """The exact redirect URI registered with the provider."""
    return settings.APP_BASE_URL + reverse("settings:calendar_oauth_callback", args=[provider])


@login_required
def connect_start(request, provider: str):
    if provider not in connections.OAUTH_PROVIDERS:
        raise Http404
    refused = _refuse_if_gated(request)
    if refused:
        return refused
    label = Provider(provider).label
    if request.method != "POST":
        return render(request, "calendars/connect_disclosure.html", {"provider": label})
    try:
        url, pending = connections.oauth_module(provider).begin_authorization(
            _redirect_uri(provider)
        )
    except ProviderError as exc:
        return _oauth_failed(request, f"{label} sign-in could not be reached: {exc}", status=503)
    flows = request.session.get(OAUTH_SESSION_KEY, {})
    flows[pending["state"]] = {"provider": provider, "pending": pending, "started": time.time()}
    request.session[OAUTH_SESSION_KEY] = flows
    return redirect(url)


@login_required
def oauth_callback(request, provider: str):
    flows = request.session.get(OAUTH_SESSION_KEY, {})
    # The state is one-time: taken out of the session whatever happens next.
    flow = flows.pop(request.GET.get("state", ""), None)
    request.session[OAUTH_SESSION_KEY] = flows
    if (
        flow is None
        or flow["provider"] != provider
        or time.time() - flow["started"] > OAUTH_MAX_AGE
    ):
        return _oauth_failed(
            request,
            "This sign-in attempt is not valid any more (it expired or "
            "was already used). Start connecting again.",
        )
    if request.GET.get("error"):
        messages.warning(
            request,
            f"You did not allow access to your {Provider(provider).label} "
            "calendar, so nothing was connected.",
        )
        return redirect("settings:calendar")
    try:
        credentials = connections.oauth_module(provider).complete_authorization(
            _redirect_uri(provider), flow["pending"], request.GET.dict()
        )
        connection = connections.create_connection(request.user, provider, credentials)
        sync.queue_sync(connection.pk, full=True)
    except ProviderError as exc:
        return _oauth_failed(
            request, f"{Provider(provider).label} did not accept the sign-in: {exc}"
        )
    except PermissionError as exc:
        return _oauth_failed(request, str(exc), status=403)
    messages.success(request, "Your calendar is connected. The first sync is on its way.")
    return redirect("meetings:dashboard")


def _oauth_failed(request, message: str, status: int = 400):
    return render(request, "calendars/connect_failed.html", {"message": message}, status=status)


@login_required
def connect_exchange(request):
    refused = _refuse_if_gated(request)
    if refused:
        return refused
    form = ExchangeConnectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            credentials = connections.check_exchange(**_exchange_fields(form.cleaned_data))
            connection = connections.create_connection(request.user, "exchange", credentials)
            sync.queue_sync(connection.pk, full=True)
        except (ProviderError, PermissionError) as exc:
            form.add_error(_exchange_error_field(exc), _exchange_message(exc))
        else:
            messages.success(
                request, "Your Exchange calendar is connected. The first sync is on its way."
            )
            return redirect("meetings:dashboard")
    status = 400 if form.errors else 200
    return render(request, "calendars/connect_exchange.html", {"form": form}, status=status)


def _exchange_fields(data: dict) -> dict:
    return {key: data[key] for key in ("email", "password", "username", "ews_url", "version")}


def _exchange_error_field(exc: Exception) -> str | None:
    if isinstance(exc, ReconnectRequired):
        return "password"
    if isinstance(exc, InvalidServer | TransientError):
        return "ews_url"
    return None


def _exchange_message(exc: Exception) -> str:
    if isinstance(exc, ReconnectRequired):
        return "The server refused this email, username and password. Check them and try again."
    return str(exc)


# --- Disconnecting and clean-up ---------------------------------------------------------


@login_required
def disconnect(request, connection_id: int):
    connection = get_object_or_404(CalendarConnection, pk=connection_id, user=request.user)
    if request.method != "POST":
        return render(request, "calendars/disconnect_confirm.html", {"connection": connection})
    connections.disconnect(connection)
    messages.success(request, f"{connection} was disconnected.")
    return redirect("settings:calendar")


@login_required
@require_POST
def remove_calendar(request, calendar_id: int):
    calendar = get_object_or_404(
        Calendar, pk=calendar_id, connection__user=request.user, is_primary=False
    )
    with transaction.atomic():  # the busy store changes with the calendar set, or not at all
        calendar.for_availability = False
        calendar.save(update_fields=["for_availability"])
        busy.refresh(request.user.pk)
        availability_cache.bump([request.user.pk])
    messages.success(request, f"{calendar.name} is no longer an availability calendar.")
    return redirect("settings:calendar")
