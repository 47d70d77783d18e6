"""Whether someone is there: the chat owner's working hours, in their time zone, across DST."""

from datetime import UTC, datetime

import time_machine
from django.urls import reverse

from chat import presence

NEW_YORK = "America/New_York"


def rules(timezone=NEW_YORK):
    return presence.working_rules(None, timezone)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_within_working_hours_someone_is_available():
    assert presence.presence(rules(), at("2026-03-04T10:00-05:00")) == presence.Presence(True, None)


def test_after_hours_the_next_start_is_given():
    away = presence.presence(rules(), at("2026-03-04T17:30-05:00"))
    assert away == presence.Presence(False, at("2026-03-05T09:00-05:00"))


def test_on_friday_evening_it_is_monday_morning():
    away = presence.presence(rules(), at("2026-03-06T18:00-05:00"))
    assert away.next_available == at("2026-03-09T09:00-04:00")  # DST began on Sunday the 8th


def test_working_hours_are_wall_clock_across_dst():
    # 09:30 in New York is 14:30 UTC in winter and 13:30 UTC in summer.
    assert presence.presence(rules(), at("2026-03-09T13:30+00:00")).available
    assert not presence.presence(rules(), at("2026-03-06T13:30+00:00")).available
    assert presence.presence(rules(), at("2026-03-06T14:30+00:00")).available


def test_the_chat_page_hours_and_overrides_count(make_page, admin_user):
    page = make_page(
        admin_user,
        timezone="Europe/Warsaw",
        weekly_hours={str(day): [["07:00", "11:00"]] for day in range(7)},
        date_overrides={"2026-03-04": []},
    )
    page_rules = presence.working_rules(page, NEW_YORK)
    assert presence.presence(page_rules, at("2026-03-03T07:30+01:00")).available
    day_off = presence.presence(page_rules, at("2026-03-04T08:00+01:00"))
    assert day_off == presence.Presence(False, at("2026-03-05T07:00+01:00"))


def test_the_frame_says_available_or_away(client, widget, chat_profile, admin_user):
    admin_user.timezone = NEW_YORK
    admin_user.save()
    url = reverse("chat_widget:frame", args=[widget.key])
    with time_machine.travel(at("2026-03-04T10:00-05:00"), tick=False):
        assert "Available now" in client.get(url).content.decode()
    with time_machine.travel(at("2026-03-04T20:00-05:00"), tick=False):
        html = client.get(url).content.decode()
        assert "Available now" not in html
        assert 'back <time datetime="2026-03-05T14:00:00+00:00"' in html  # 09:00 New York
