"""Managing pages: the visual weekly-hours editor without JavaScript, hosts with weights and
rotation, turning one page off, duplicating, deleting (bookings stay), the distribution
report, and that nobody touches another user's pages or picks another account's people."""

import json

import pytest

from meetings.models import Booking, MeetingSettings, PageMember, SchedulingPage
from tests.meetings.conftest import next_day_at
from tests.meetings.test_pages import NEW_URL, _form


def _book(client, page, when, email="cora@client.example"):
    body = {
        "start": when.isoformat(),
        "duration": page.durations[0],
        "timezone": "Europe/Warsaw",
        "first_name": "Cora",
        "last_name": "Contact",
        "email": email,
    }
    return client.post(
        f"/meetings/{page.slug}/book", json.dumps(body), content_type="application/json"
    )


# --- The weekly-hours editor without JavaScript ---------------------------------------------


def test_the_editor_buttons_work_without_javascript_and_save_nothing(admin_client):
    added = admin_client.post(NEW_URL, _form(**{"hours-action": "add-5"}))
    assert added.status_code == 200
    assert not SchedulingPage.objects.exists()
    html = added.content.decode()
    assert 'name="hours-5-0-start" value="09:00"' in html  # Saturday got a first interval

    removed = admin_client.post(NEW_URL, _form(**{"hours-action": "remove-0-0"}))
    html = removed.content.decode()
    assert 'name="hours-0-0-start" value="13:00"' in html and 'value="12:00"' not in html

    copied = admin_client.post(NEW_URL, _form(**{"hours-action": "copy-4"}))
    html = copied.content.decode()
    for day in range(7):
        assert f'name="hours-{day}-0-start" value="10:00"' in html
        assert f'name="hours-{day}-1-start"' not in html
    assert not SchedulingPage.objects.exists()


def test_overlapping_or_half_filled_intervals_are_a_400_naming_the_day(admin_client):
    overlap = admin_client.post(
        NEW_URL, _form(**{"hours-0-1-start": "11:00", "hours-0-1-end": "13:00"})
    )
    assert overlap.status_code == 400
    assert "Monday: 09:00-12:00 overlaps 11:00-13:00." in overlap.content.decode()
    half = admin_client.post(NEW_URL, _form(**{"hours-2-0-start": "09:00"}))
    assert half.status_code == 400
    assert "Wednesday: give both a start and an end time." in half.content.decode()


def test_an_end_of_midnight_means_the_end_of_the_day(admin_client, admin_user):
    response = admin_client.post(
        NEW_URL, _form(**{"hours-6-0-start": "18:00", "hours-6-0-end": "00:00"})
    )
    assert response.status_code == 302, response.content
    assert SchedulingPage.objects.get().weekly_hours["6"] == [["18:00", "24:00"]]


def test_vacations_are_date_ranges(admin_client):
    response = admin_client.post(
        NEW_URL, _form(overrides_text="2030-12-24 to 2030-12-27: off\n2030-12-30: 10:00-12:00")
    )
    assert response.status_code == 302, response.content
    page = SchedulingPage.objects.get()
    assert page.date_overrides == {
        "2030-12-24": [],
        "2030-12-25": [],
        "2030-12-26": [],
        "2030-12-27": [],
        "2030-12-30": [["10:00", "12:00"]],
    }
    edit = admin_client.get(f"/app/meetings/pages/{page.pk}/").content.decode()
    assert "2030-12-24 to 2030-12-27: off" in edit


# --- Hosts, weights, rotation ---------------------------------------------------------------


@pytest.fixture
def colleagues(make_user, admin_user):
    return [
        make_user(f"teammate{n}@acme.example", admin_user.account, full_name=f"Teammate {n}")
        for n in (1, 2)
    ]


def test_hosts_are_ticked_with_a_weight_and_a_rotation_switch(admin_client, admin_user, colleagues):
    first, second = colleagues
    response = admin_client.post(
        NEW_URL,
        _form(
            kind="round_robin",
            members=[first.pk, second.pk],
            **{
                f"weight_{admin_user.pk}": "1",
                f"rotation_{admin_user.pk}": "on",
                f"weight_{first.pk}": "2",
                f"rotation_{first.pk}": "on",
                f"weight_{second.pk}": "1",
            },
        ),
    )
    assert response.status_code == 302, response.content
    page = SchedulingPage.objects.get()
    rows = {row.user_id: (row.weight, row.in_rotation) for row in PageMember.objects.all()}
    assert rows == {admin_user.pk: (1, True), first.pk: (2, True), second.pk: (1, False)}
    from meetings import slots

    assert slots.page_hosts(page) == sorted([admin_user.pk, first.pk])

    edit = admin_client.get(f"/app/meetings/pages/{page.pk}/").content.decode()
    assert "data-member-picker" in edit and 'type="checkbox" name="members"' in edit
    assert "<select" not in edit.split("data-member-picker")[1].split("</fieldset>")[0]


def test_a_round_robin_page_keeps_someone_in_the_rotation(admin_client, colleagues):
    response = admin_client.post(
        NEW_URL, _form(kind="round_robin", members=[colleagues[0].pk])
    )  # no rotation box ticked
    assert response.status_code == 400
    assert "Keep at least one host in the rotation." in response.content.decode()


def test_people_of_another_account_cannot_be_hosts(admin_client, make_user):
    stranger = make_user("stranger@elsewhere.example")
    response = admin_client.post(NEW_URL, _form(kind="group", members=[stranger.pk]))
    assert response.status_code == 400
    assert "members" in response.context["form"].errors
    assert not SchedulingPage.objects.exists()


# --- Turning a page off, duplicating, deleting ---------------------------------------------


def test_one_page_can_be_turned_off_and_on(admin_client, client, live_page, make_page, admin_user):
    other = make_page(admin_user, slug="other-page")
    off = admin_client.post(f"/app/meetings/pages/{live_page.pk}/toggle/")
    assert off.status_code == 302 and off.url == "/app/meetings/"
    live_page.refresh_from_db()
    assert not live_page.is_active
    assert client.get(f"/meetings/{live_page.slug}").status_code == 404
    day = next_day_at(0).date().isoformat()
    slots_url = f"/meetings/{live_page.slug}/slots"
    assert client.get(slots_url, {"start": day, "end": day}).status_code == 404
    assert _book(client, live_page, next_day_at(10)).status_code == 404
    assert client.get(f"/meetings/{other.slug}").status_code == 200  # only that page
    dashboard = admin_client.get("/app/meetings/").content.decode()
    assert "This page is turned off." in dashboard and "Turn on" in dashboard

    admin_client.post(f"/app/meetings/pages/{live_page.pk}/toggle/")
    assert client.get(f"/meetings/{live_page.slug}").status_code == 200
    assert _book(client, live_page, next_day_at(10)).status_code == 201


def test_a_page_is_duplicated_with_its_settings_and_hosts(
    admin_client, admin_user, make_page, colleagues
):
    page = make_page(
        admin_user,
        kind="round_robin",
        members=colleagues,
        reminders=[{"amount": 1, "unit": "days"}],
        questions=[{"label": "Topic", "required": True}],
    )
    PageMember.objects.filter(page=page, user=colleagues[0]).update(weight=3, in_rotation=False)
    response = admin_client.post(f"/app/meetings/pages/{page.pk}/duplicate/")
    copy = SchedulingPage.objects.exclude(pk=page.pk).get()
    assert response.status_code == 302 and response.url == f"/app/meetings/pages/{copy.pk}/"
    assert copy.name == "Copy of Intro call" and copy.slug != page.slug
    assert copy.slug.startswith(page.slug)
    assert (copy.kind, copy.reminders, copy.questions, copy.weekly_hours) == (
        page.kind,
        page.reminders,
        page.questions,
        page.weekly_hours,
    )
    assert copy.host_ids() == page.host_ids()
    assert PageMember.objects.get(page=copy, user=colleagues[0]).weight == 3
    assert not PageMember.objects.get(page=copy, user=colleagues[0]).in_rotation


def test_deleting_a_page_asks_first_and_keeps_its_bookings(
    admin_client, client, live_page, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booked = _book(client, live_page, next_day_at(10))
    assert booked.status_code == 201
    booking = Booking.objects.get(pk=booked.json()["id"])
    from meetings import urlrules

    urlrules.settings_for(admin_user)
    MeetingSettings.objects.filter(user=admin_user).update(default_page=live_page)

    ask = admin_client.get(f"/app/meetings/pages/{live_page.pk}/delete/")
    text = ask.content.decode()
    assert ask.status_code == 200 and "Bookings stay." in text and "1 upcoming meeting" in text
    assert SchedulingPage.objects.filter(pk=live_page.pk).exists()  # a GET deletes nothing

    done = admin_client.post(f"/app/meetings/pages/{live_page.pk}/delete/")
    assert done.status_code == 302 and done.url == "/app/meetings/"
    assert not SchedulingPage.objects.filter(pk=live_page.pk).exists()
    assert SchedulingPage.all_objects.get(pk=live_page.pk).deleted_at is not None
    assert client.get(f"/meetings/{live_page.slug}").status_code == 404
    dashboard = admin_client.get("/app/meetings/").content.decode()
    assert f"/app/meetings/pages/{live_page.pk}/" not in dashboard
    assert MeetingSettings.objects.get(user=admin_user).default_page is None

    # The booking stays and its manage link works: the contact can still cancel.
    booking.refresh_from_db()
    assert booking.status == "confirmed"
    manage = client.get(f"/meetings/manage/{booking.manage_token}/").content.decode()
    assert "Cancel meeting" in manage and ">Reschedule<" not in manage
    cancelled = client.post(f"/meetings/manage/{booking.manage_token}/cancel", {"reason": ""})
    assert cancelled.status_code == 302
    assert Booking.objects.get(pk=booking.pk).status == "cancelled"

    # The slug is free for a new page.
    again = admin_client.post(NEW_URL, _form(slug=live_page.slug))
    assert again.status_code == 302, again.content


def test_another_users_page_cannot_be_managed(client, make_page, make_user, admin_user):
    page = make_page(make_user("owner@elsewhere.example"))
    teammate_page = make_page(admin_user, slug="admins-page")
    client.force_login(make_user("member@acme.example", admin_user.account))
    for action in ("toggle", "duplicate", "delete"):
        assert client.post(f"/app/meetings/pages/{page.pk}/{action}/").status_code == 404
        assert client.post(f"/app/meetings/pages/{teammate_page.pk}/{action}/").status_code == 404
    assert client.get(f"/app/meetings/pages/{page.pk}/distribution/").status_code == 404
    assert client.get(f"/app/meetings/pages/{page.pk}/delete/").status_code == 404
    page.refresh_from_db()
    assert page.is_active and page.deleted_at is None
    assert SchedulingPage.objects.count() == 2


def test_the_dashboard_has_a_copy_link_button_over_the_visible_link(admin_client, live_page):
    html = admin_client.get("/app/meetings/").content.decode()
    assert f'data-copy="http://127.0.0.1:8000/meetings/{live_page.slug}"' in html
    assert f"/meetings/{live_page.slug}</a>" in html  # the link itself, for no JavaScript


# --- Distribution report -------------------------------------------------------------------


def test_the_distribution_report_counts_bookings_per_member_against_their_weight(
    admin_client, admin_user, make_page, colleagues
):
    page = make_page(admin_user, kind="round_robin", members=colleagues)
    PageMember.objects.filter(page=page, user=colleagues[0]).update(weight=2)
    for n, host in enumerate([admin_user, colleagues[0], colleagues[0], colleagues[1]]):
        Booking.objects.create(
            page=page,
            host=host,
            start=next_day_at(9 + n),
            end=next_day_at(10 + n),
            status=Booking.Status.CONFIRMED,
            email=f"c{n}@client.example",
            first_name="C",
            last_name="D",
            timezone="UTC",
            manage_token=f"distribution-token-{n}",
        )
    response = admin_client.get(f"/app/meetings/pages/{page.pk}/distribution/", {"days": "90"})
    html = response.content.decode()
    assert response.status_code == 200
    row = html.split(f'data-host="{colleagues[0].email}"')[1].split("</tr>")[0]
    assert "<td data-bookings>2</td>" in row and "50%" in row  # 2 of 4, target 2/4 = 50%
    assert "4 bookings since" in html
