"""Team pages that use each host's own working hours and time zone (Settings > General >
Working hours): group = everyone's hours and calendars, round robin = anyone's; vacations;
the owner's "why isn't this time available?" names the member and the rule."""

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from meetings.models import Booking, WorkingHours
from tests.meetings.conftest import next_day_at

EVERY_DAY_9_TO_5 = {str(d): [["09:00", "17:00"]] for d in range(7)}


@pytest.fixture
def team(admin_user, make_user, connect_user):
    """The owner works 09-17 in Warsaw, the colleague 09-17 in New York; both connected."""
    colleague = make_user(
        "colleague@acme.example",
        admin_user.account,
        full_name="Nora York",
        timezone="UTC",
        personal_email_access=True,
    )
    admin_user.full_name = "Wanda Warsaw"
    admin_user.save()
    for user, zone in ((admin_user, "Europe/Warsaw"), (colleague, "America/New_York")):
        connect_user(user)
        WorkingHours.objects.create(user=user, timezone=zone, weekly_hours=EVERY_DAY_9_TO_5)
    return admin_user, colleague


def _day():
    return next_day_at(0, days=3).date()


def _local_span(day, zone):
    tz = ZoneInfo(zone)
    return (
        datetime.combine(day, time(9), tz).astimezone(ZoneInfo("UTC")),
        datetime.combine(day, time(17), tz).astimezone(ZoneInfo("UTC")),
    )


def _starts(low, high, minutes=30):
    found, at = set(), low
    while at + timedelta(minutes=minutes) <= high:
        found.add(at)
        at += timedelta(minutes=minutes)
    return found


def _offered(client, page, day):
    response = client.get(
        f"/meetings/{page.slug}/slots",
        {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat(), "tz": "UTC"},
    )
    assert response.status_code == 200, response.content
    return {datetime.fromisoformat(s["start"]) for s in response.json()["slots"]}


def _page(make_page, team, kind):
    owner, colleague = team
    return make_page(
        owner,
        kind=kind,
        members=[colleague],
        durations=[30],
        hours_source="members",
        weekly_hours={str(d): [["00:00", "24:00"]] for d in range(7)},  # not used
        min_notice=0,
    )


def test_group_offers_where_everyones_own_hours_overlap(client, make_page, team):
    page = _page(make_page, team, "group")
    day = _day()
    warsaw, york = _local_span(day, "Europe/Warsaw"), _local_span(day, "America/New_York")
    expected = _starts(max(warsaw[0], york[0]), min(warsaw[1], york[1]))
    offered = {s for s in _offered(client, page, day) if s.date() == day}
    assert expected and offered == expected


def test_round_robin_offers_anyones_own_hours_and_picks_the_one_working(client, make_page, team):
    _, colleague = team
    page = _page(make_page, team, "round_robin")
    day = _day()
    warsaw, york = _local_span(day, "Europe/Warsaw"), _local_span(day, "America/New_York")
    expected = {
        s for s in _starts(warsaw[0], warsaw[1]) | _starts(york[0], york[1]) if s.date() == day
    }
    offered = {s for s in _offered(client, page, day) if s.date() == day}
    assert offered == expected
    late = max(offered)  # only New York works then
    body = {
        "start": late.isoformat(),
        "duration": 30,
        "timezone": "UTC",
        "first_name": "Cora",
        "last_name": "Contact",
        "email": "cora@client.example",
    }
    response = client.post(
        f"/meetings/{page.slug}/book", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert Booking.objects.get(pk=response.json()["id"]).host == colleague


def test_a_vacation_takes_a_member_out_of_the_day(client, make_page, team):
    owner, colleague = team
    day = _day()
    WorkingHours.objects.filter(user=colleague).update(
        date_overrides={(day + timedelta(days=d)).isoformat(): [] for d in (-1, 0, 1)}
    )
    group = _page(make_page, team, "group")
    assert not {s for s in _offered(client, group, day) if s.date() == day}
    rr = make_page(
        owner,
        slug="rr-vacation",
        kind="round_robin",
        members=[colleague],
        durations=[30],
        hours_source="members",
        min_notice=0,
    )
    warsaw = _local_span(day, "Europe/Warsaw")
    assert {s for s in _offered(client, rr, day) if s.date() == day} == {
        s for s in _starts(*warsaw) if s.date() == day
    }


def test_the_pages_own_hours_still_apply_when_chosen(client, make_page, team):
    owner, colleague = team
    page = make_page(
        owner,
        kind="group",
        members=[colleague],
        durations=[30],
        hours_source="page",
        timezone="UTC",
        weekly_hours={str(d): [["06:00", "07:00"]] for d in range(7)},
        min_notice=0,
    )
    day = _day()
    assert {s for s in _offered(client, page, day) if s.date() == day} == {
        s for s in _starts(*_utc(day, 6, 7)) if s.date() == day
    }


def _utc(day, first, last):
    utc = ZoneInfo("UTC")
    return datetime.combine(day, time(first), utc), datetime.combine(day, time(last), utc)


def test_why_names_the_member_and_their_rule(admin_client, make_page, team):
    page = _page(make_page, team, "group")
    day = _day()
    warsaw = _local_span(day, "Europe/Warsaw")
    asked = warsaw[0].astimezone(ZoneInfo(page.timezone))  # 09:00 in Warsaw: New York sleeps
    html = admin_client.get(
        f"/app/meetings/pages/{page.pk}/why/", {"when": asked.strftime("%Y-%m-%dT%H:%M")}
    ).content.decode()
    assert "Not offered" in html and "<h3>Wanda Warsaw — free</h3>" in html
    assert "Nora York: Outside Nora York&#x27;s working hours" in html
    assert "America/New_York" in html


def test_a_users_own_working_hours_are_edited_in_settings(admin_client, admin_user):
    page = admin_client.get("/app/settings/general/working-hours/")
    assert page.status_code == 200 and "data-hours-editor" in page.content.decode()
    saved = admin_client.post(
        "/app/settings/general/working-hours/",
        {
            "timezone": "Asia/Tokyo",
            "hours-0-0-start": "08:00",
            "hours-0-0-end": "12:00",
            "hours-0-1-start": "13:00",
            "hours-0-1-end": "18:00",
            "overrides_text": "2030-08-01 to 2030-08-03: off",
        },
    )
    assert saved.status_code == 302 and saved.url == "/app/settings/general/working-hours/"
    row = WorkingHours.objects.get(user=admin_user)
    assert row.timezone == "Asia/Tokyo"
    assert row.weekly_hours == {"0": [["08:00", "12:00"], ["13:00", "18:00"]]}
    assert sorted(row.date_overrides) == ["2030-08-01", "2030-08-02", "2030-08-03"]

    bad = admin_client.post(
        "/app/settings/general/working-hours/",
        {"timezone": "Mars/Base", "hours-0-0-start": "18:00", "hours-0-0-end": "08:00"},
    )
    assert bad.status_code == 400
    assert "Monday: 18:00-08:00 ends before it starts." in bad.content.decode()
    assert WorkingHours.objects.get(user=admin_user).timezone == "Asia/Tokyo"


def test_working_hours_are_the_users_own(client, make_user, admin_user):
    WorkingHours.objects.create(user=admin_user, timezone="Europe/Warsaw")
    other = make_user("other@elsewhere.example")
    client.force_login(other)
    client.post("/app/settings/general/working-hours/", {"timezone": "Asia/Tokyo"})
    assert WorkingHours.objects.get(user=admin_user).timezone == "Europe/Warsaw"
    assert WorkingHours.objects.get(user=other).timezone == "Asia/Tokyo"
