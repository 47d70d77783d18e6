"""Connecting a calendar from Settings > General > Calendar (OAuth flows against the sandbox)."""

from urllib.parse import parse_qs, urlsplit

from django.db import connection as db
from django.urls import reverse

from calendars.models import Calendar, CalendarConnection
from tests.calendars.conftest import consent

SETTINGS_URL = "/app/settings/general/calendar/"


def test_google_connect_flow_stores_the_connection_and_lists_calendars(
    admin_client, admin_user, connect_google
):
    page = admin_client.get(reverse("settings:calendar_connect", args=["google"]))
    assert "Read every calendar" in page.content.decode()  # the disclosure comes first

    response = connect_google()
    assert response.status_code == 302 and response.url == reverse("meetings:dashboard")
    connection = CalendarConnection.objects.get(user=admin_user)
    assert connection.provider == "google" and connection.account_email == "owner@acme.example"
    assert connection.calendar_sync and connection.scheduling_pages and not connection.task_sync
    calendars = {c.name: c for c in connection.calendars.all()}
    primary = next(c for c in calendars.values() if c.is_primary)
    assert primary.for_availability and primary.access == "owner"
    assert calendars["Boss"].access == "reader" and calendars["Room"].access == "free_busy"

    settings_page = admin_client.get(SETTINGS_URL).content.decode()
    assert "Default personal calendar" in settings_page and "Boss" in settings_page
    # Free/busy-only calendars are not offered as availability calendars.
    options = admin_client.get(SETTINGS_URL).context["options"]
    offered = {c.name for c in options.fields["availability_calendars"].queryset}
    assert "Boss" in offered and "Room" not in offered


def test_the_authorization_request_uses_state_pkce_and_the_exact_redirect_uri(
    admin_client, google_mailbox, settings
):
    start = admin_client.post(reverse("settings:calendar_connect", args=["google"]))
    query = parse_qs(urlsplit(start.url).query)
    assert query["state"][0] and query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"][0]
    expected = settings.APP_BASE_URL + "/app/settings/general/calendar/oauth/google/callback/"
    assert query["redirect_uri"] == [expected]


def test_tokens_are_ciphertext_in_the_database(connection):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT credentials_json FROM calendars_calendarconnection WHERE id = %s",
            [connection.pk],
        )
        (raw,) = cursor.fetchone()
    assert connection.credentials["refresh_token"]
    assert connection.credentials["refresh_token"] not in raw
    assert connection.credentials["token"] not in raw
    assert "refresh_token" not in raw


def test_deny_on_the_consent_page_returns_with_a_clear_message(admin_client, connect_google):
    response = connect_google(decision="deny")
    assert response.status_code == 302 and response.url == SETTINGS_URL
    page = admin_client.get(SETTINGS_URL).content.decode()
    assert "did not allow access" in page
    assert not CalendarConnection.objects.exists()


def test_callback_with_a_wrong_or_missing_state_is_refused(admin_client, google_mailbox):
    start = admin_client.post(reverse("settings:calendar_connect", args=["google"]))
    callback = consent(start.url)
    wrong = callback.replace("state=", "state=forged")
    assert admin_client.get(wrong).status_code == 400
    no_state = "&".join(p for p in callback.split("?")[1].split("&") if not p.startswith("state="))
    assert admin_client.get(callback.split("?")[0] + "?" + no_state).status_code == 400
    assert not CalendarConnection.objects.exists()


def test_a_reused_state_or_a_replayed_code_is_refused(admin_client, admin_user, google_mailbox):
    start = admin_client.post(reverse("settings:calendar_connect", args=["google"]))
    callback = consent(start.url)
    assert admin_client.get(callback).status_code == 302
    # The same callback again: its state was used up.
    assert admin_client.get(callback).status_code == 400
    CalendarConnection.objects.all().delete()

    # A fresh, valid state with the old (already redeemed) code: the provider refuses it.
    fresh = admin_client.post(reverse("settings:calendar_connect", args=["google"]))
    fresh_state = parse_qs(urlsplit(fresh.url).query)["state"][0]
    old_code = parse_qs(urlsplit(callback).query)["code"][0]
    path = reverse("settings:calendar_oauth_callback", args=["google"])
    replay = admin_client.get(path, {"state": fresh_state, "code": old_code})
    assert replay.status_code == 400
    assert not CalendarConnection.objects.filter(user=admin_user).exists()


def test_without_personal_email_access_the_page_and_the_post_refuse(member_client, google_mailbox):
    page = member_client.get(SETTINGS_URL)
    body = page.content.decode()
    assert "grant you personal email access" in body
    assert 'disabled aria-describedby="connect-reason"' in body
    start = member_client.post(reverse("settings:calendar_connect", args=["google"]))
    assert start.status_code == 403
    exchange = member_client.post(
        reverse("settings:calendar_connect_exchange"),
        {"email": "m@acme.example", "password": "x", "accept": "on"},
    )
    assert exchange.status_code == 403
    assert not CalendarConnection.objects.exists()


def test_one_connection_per_user(admin_client, connection):
    again = admin_client.post(reverse("settings:calendar_connect", args=["google"]))
    assert again.status_code == 403
    assert CalendarConnection.objects.count() == 1


def test_another_accounts_user_cannot_see_or_change_the_connection(connection, client, make_user):
    stranger = make_user("stranger@other.example", personal_email_access=True)
    client.force_login(stranger)
    calendar = connection.calendars.exclude(is_primary=True).first()
    assert "owner@acme.example" not in client.get(SETTINGS_URL).content.decode()
    for url in [
        reverse("settings:calendar_disconnect", args=[connection.pk]),
        reverse("settings:calendar_remove", args=[calendar.pk]),
    ]:
        assert client.get(url).status_code in (404, 405)
        assert client.post(url).status_code == 404
    assert CalendarConnection.objects.filter(pk=connection.pk).exists()
    calendar.refresh_from_db()


def test_task_sync_is_refused_for_a_free_seat(admin_client, connection, admin_user):
    assert admin_user.seat == "none"
    response = admin_client.post(
        SETTINGS_URL,
        {
            "connection-calendar_sync": "on",
            "connection-scheduling_pages": "on",
            "connection-task_sync": "on",
            "meetings-url_prefix": "admin",
            "meetings-pages_enabled": "on",
        },
    )
    assert response.status_code == 400
    assert "paid Sales or Service" in response.content.decode()
    connection.refresh_from_db()
    assert not connection.task_sync


def test_saving_selects_availability_calendars_and_keeps_the_main_one(admin_client, connection):
    boss = connection.calendars.get(name="Boss")
    response = admin_client.post(
        SETTINGS_URL,
        {
            "connection-calendar_sync": "on",
            "connection-scheduling_pages": "on",
            "connection-availability_calendars": [boss.pk],
            "meetings-url_prefix": "admin-pages",
            "meetings-pages_enabled": "on",
        },
    )
    assert response.status_code == 302
    chosen = set(connection.calendars.filter(for_availability=True).values_list("name", flat=True))
    assert chosen == {"Boss", connection.calendars.get(is_primary=True).name}


def test_disconnect_explains_then_removes_the_connection_and_mirror(admin_client, connection):
    url = reverse("settings:calendar_disconnect", args=[connection.pk])
    assert "offline mode" in admin_client.get(url).content.decode()
    response = admin_client.post(url)
    assert response.status_code == 302
    assert not CalendarConnection.objects.exists()
    assert not Calendar.objects.exists()


def test_legacy_accounts_keep_two_connections_until_one_is_disconnected(
    admin_client, admin_user, google_mailbox
):
    from datetime import UTC, datetime

    admin_user.account.created_at = datetime(2022, 6, 1, tzinfo=UTC)
    admin_user.account.save()
    for slot in ("calendar_settings", "meetings"):
        legacy = CalendarConnection(
            user=admin_user,
            provider="google",
            legacy_slot=slot,
            account_email=f"{slot}@acme.example",
        )
        legacy.credentials = {"token": "t", "refresh_token": "r"}
        legacy.save()
    page = admin_client.get(SETTINGS_URL).content.decode()
    assert page.count("Legacy ·") == 2
    assert (
        admin_client.post(reverse("settings:calendar_connect", args=["google"])).status_code == 403
    )

    first = CalendarConnection.objects.get(legacy_slot="meetings")
    admin_client.post(reverse("settings:calendar_disconnect", args=[first.pk]))
    assert CalendarConnection.objects.filter(user=admin_user).count() == 1
    # Only one connection now, and none can be added beside it.
    assert (
        admin_client.post(reverse("settings:calendar_connect", args=["google"])).status_code == 403
    )
