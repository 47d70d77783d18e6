"""Contacts list and contact record: search, paging, forms, tenant isolation, bad input."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import Contact, Meeting, Task
from tests.support.times import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def stranger(make_user, make_account):
    """A user of another account, with a contact, a meeting and a task of their own."""
    user = make_user("eve@other.example", make_account("Other"))
    contact = services.upsert_contact(user.account, email="mallory@other.example")
    services.create_meeting(user, contacts=[contact], title="Secret", start=at(1, 9), end=at(1, 10))
    services.create_task(user, title="Secret task", contact=contact)
    return user


def _other(stranger):
    contact = stranger.account.contacts.get()
    return contact, contact.meetings.get(), contact.tasks.get()


def _next_january_15() -> date:
    return date(timezone.now().year + 1, 1, 15)


# --- Contacts list ----------------------------------------------------------------------


def test_the_contacts_list_needs_a_signed_in_user(client):
    response = client.get(reverse("crm:contacts"))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_the_list_shows_the_accounts_contacts_only_and_an_empty_state(
    member_client, admin_user, contact, stranger
):
    page = member_client.get(reverse("crm:contacts")).content.decode()
    assert "Ada Lovelace" in page and "mallory" not in page
    Contact.objects.filter(account=admin_user.account).delete()
    page = member_client.get(reverse("crm:contacts")).content.decode()
    assert "No contacts yet" in page


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("ada", True),
        ("LOVELACE", True),
        ("ada love", True),
        ("client.example", True),
        ("grace", False),
    ],
)
def test_search_covers_names_and_email(admin_client, contact, query, found):
    response = admin_client.get(reverse("crm:contacts"), {"q": query})
    assert response.status_code == 200
    assert ("Ada Lovelace" in response.content.decode()) is found
    if not found:
        assert "No contacts match" in response.content.decode()


def test_the_list_pages_by_fifty(admin_client, account, django_assert_max_num_queries):
    Contact.objects.bulk_create(
        [
            Contact(account=account, email=f"c{n:03}@x.example", last_name=f"N{n:03}")
            for n in range(51)
        ]
    )
    with django_assert_max_num_queries(8):
        first = admin_client.get(reverse("crm:contacts"))
    assert len(first.context["page"].object_list) == 50
    assert "Page 1 of 2" in first.content.decode()
    second = admin_client.get(reverse("crm:contacts"), {"page": "2"})
    assert [c.email for c in second.context["page"].object_list] == ["c050@x.example"]
    assert admin_client.get(reverse("crm:contacts"), {"page": "nope"}).status_code == 200


def test_adding_a_contact_opens_its_record(admin_client, admin_user):
    response = admin_client.post(
        reverse("crm:contacts"),
        {"email": "grace@navy.example", "first_name": "Grace", "last_name": "Hopper"},
    )
    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("crm:contact", args=[contact.pk])
    assert (contact.account, contact.owner) == (admin_user.account, admin_user)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not an email"}, "email"),
        ({"email": ""}, "email"),
        ({"email": "ADA@client.EXAMPLE"}, "email"),  # taken by `contact`, in another case
        ({"email": "ok@x.example", "first_name": "x" * 101}, "first_name"),
    ],
)
def test_bad_contacts_get_400_with_the_fields_error(admin_client, contact, data, field):
    response = admin_client.post(reverse("crm:contacts"), data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert Contact.objects.count() == 1


# --- Contact record ---------------------------------------------------------------------


def test_the_record_shows_upcoming_then_past_meetings_and_tasks(member_client, admin_user, contact):
    services.create_meeting(
        admin_user, contacts=[contact], title="Past one", start=at(-2, 9), end=at(-2, 10)
    )
    services.create_meeting(
        admin_user, contacts=[contact], title="Later", start=at(5, 9), end=at(5, 10)
    )
    services.create_meeting(
        admin_user,
        contacts=[contact],
        title="Synced",
        start=at(1, 9),
        end=at(1, 10),
        source=Meeting.Source.CALENDAR_SYNC,
    )
    services.create_task(admin_user, title="Send the deck", contact=contact)
    response = member_client.get(reverse("crm:contact", args=[contact.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Ada Lovelace" in page and "Ada@Client.example" in page
    assert [m.title for m in response.context["upcoming"]] == ["Synced", "Later"]
    assert [m.title for m in response.context["past"]] == ["Past one"]
    assert page.index("Synced") < page.index("Later") < page.index("Past one")
    assert "Calendar sync</span>" in page and "Scheduled</span>" in page
    assert "Send the deck" in page


def test_another_accounts_records_are_404(admin_client, contact, stranger):
    other_contact, other_meeting, other_task = _other(stranger)
    ours = contact.pk
    urls = [
        ("get", reverse("crm:contact", args=[other_contact.pk])),
        ("post", reverse("crm:meeting_create", args=[other_contact.pk])),
        ("post", reverse("crm:task_create", args=[other_contact.pk])),
        ("post", reverse("crm:meeting_cancel", args=[ours, other_meeting.pk])),
        ("post", reverse("crm:meeting_cancel", args=[other_contact.pk, other_meeting.pk])),
        ("post", reverse("crm:task_complete", args=[ours, other_task.pk])),
        ("post", reverse("crm:task_reopen", args=[other_contact.pk, other_task.pk])),
        ("post", reverse("crm:task_delete", args=[ours, other_task.pk])),
    ]
    for method, url in urls:
        assert getattr(admin_client, method)(url).status_code == 404, url
    assert (
        other_meeting.status == Meeting.Status.SCHEDULED
        and Task.objects.filter(pk=other_task.pk).exists()
    )


def test_a_meeting_entered_in_new_york_time_is_stored_in_utc(admin_client, admin_user, contact):
    admin_user.timezone = "America/New_York"
    admin_user.save()
    day = _next_january_15()
    response = admin_client.post(
        reverse("crm:meeting_create", args=[contact.pk]),
        {
            "title": "Kick-off",
            "date": day.isoformat(),
            "start_time": "09:00",
            "duration": "45",
            "description": "Agenda",
        },
    )
    assert response.status_code == 302
    meeting = Meeting.objects.get()
    assert meeting.start == datetime(day.year, 1, 15, 14, 0, tzinfo=UTC)
    assert meeting.end == datetime(day.year, 1, 15, 14, 45, tzinfo=UTC)
    assert (meeting.owner, meeting.source, meeting.description) == (admin_user, "crm", "Agenda")
    assert list(meeting.contacts.all()) == [contact]
    page = admin_client.get(response.url).content.decode()
    assert "Meeting logged." in page and "09:00" in page  # shown back in the user's zone


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": ""}, "title"),
        ({"date": "15/01/2027"}, "date"),
        ({"date": "2027-02-30"}, "date"),
        ({"start_time": "25:00"}, "start_time"),
        ({"duration": "0"}, "duration"),
        ({"duration": "abc"}, "duration"),
        ({"duration": "100000"}, "duration"),
        # Clocks in New York jump from 02:00 to 03:00 on 2027-03-14.
        ({"date": "2027-03-14", "start_time": "02:30"}, "start_time"),
    ],
)
def test_bad_meetings_get_400_with_the_fields_error(admin_client, admin_user, contact, data, field):
    admin_user.timezone = "America/New_York"
    admin_user.save()
    form = {"title": "Call", "date": "2027-01-15", "start_time": "09:00", "duration": "30", **data}
    response = admin_client.post(reverse("crm:meeting_create", args=[contact.pk]), form)
    assert response.status_code == 400
    assert response.context["meeting_form"].errors[field]
    assert not Meeting.objects.exists()


def test_only_the_owner_cancels_a_meeting(admin_client, member_user, admin_user, contact):
    theirs = services.create_meeting(
        member_user, contacts=[contact], title="Member's", start=at(1, 9), end=at(1, 10)
    )
    mine = services.create_meeting(
        admin_user, contacts=[contact], title="Mine", start=at(2, 9), end=at(2, 10)
    )
    assert (
        admin_client.post(reverse("crm:meeting_cancel", args=[contact.pk, theirs.pk])).status_code
        == 404
    )
    response = admin_client.post(reverse("crm:meeting_cancel", args=[contact.pk, mine.pk]))
    assert response.status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("cancelled", "scheduled")
    page = admin_client.get(response.url).content.decode()
    assert "was cancelled" in page and "Cancelled</span>" in page


# --- Tasks ------------------------------------------------------------------------------


def test_tasks_are_created_completed_reopened_and_deleted(admin_client, admin_user, contact):
    admin_user.timezone = "America/New_York"
    admin_user.save()
    day = _next_january_15()
    create = reverse("crm:task_create", args=[contact.pk])
    assert (
        admin_client.post(
            create, {"title": "Call back", "due_date": day.isoformat(), "due_time": "16:30"}
        ).status_code
        == 302
    )
    assert admin_client.post(create, {"title": "Whenever"}).status_code == 302
    assert (
        admin_client.post(create, {"title": "Morning", "due_date": day.isoformat()}).status_code
        == 302
    )
    tasks = {t.title: t for t in Task.objects.all()}
    assert tasks["Call back"].due_at == datetime(day.year, 1, 15, 21, 30, tzinfo=UTC)
    assert tasks["Whenever"].due_at is None
    assert tasks["Morning"].due_at == datetime(day.year, 1, 15, 14, 0, tzinfo=UTC)
    task = tasks["Call back"]
    assert (task.owner, task.contact, task.account) == (admin_user, contact, admin_user.account)

    response = admin_client.post(reverse("crm:task_complete", args=[contact.pk, task.pk]))
    assert response.status_code == 302 and response.url == reverse("crm:contact", args=[contact.pk])
    task.refresh_from_db()
    assert task.is_completed and task.completed_at
    admin_client.post(reverse("crm:task_reopen", args=[contact.pk, task.pk]))
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN and task.completed_at is None
    admin_client.post(reverse("crm:task_delete", args=[contact.pk, task.pk]))
    assert not Task.objects.filter(pk=task.pk).exists()
    assert "was deleted" in admin_client.get(response.url).content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"title": "T", "due_time": "10:00"}, "due_date"),
        ({"title": "T", "due_date": "tomorrow"}, "due_date"),
        ({"title": "T", "due_date": "2027-01-15", "due_time": "noon"}, "due_time"),
        ({"title": "T", "due_date": "2027-03-14", "due_time": "02:15"}, "due_time"),
    ],
)
def test_bad_tasks_get_400_with_the_fields_error(admin_client, admin_user, contact, data, field):
    admin_user.timezone = "America/New_York"
    admin_user.save()
    response = admin_client.post(reverse("crm:task_create", args=[contact.pk]), data)
    assert response.status_code == 400
    assert response.context["task_form"].errors[field]
    assert not Task.objects.exists()


def test_changes_need_post_and_a_csrf_token(admin_user, contact):
    task = services.create_task(admin_user, title="T", contact=contact)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    url = reverse("crm:task_complete", args=[contact.pk, task.pk])
    assert browser.get(url).status_code == 405
    assert browser.post(url).status_code == 403
    task.refresh_from_db()
    assert not task.is_completed


def test_the_record_renders_in_a_bounded_number_of_queries(
    admin_client, admin_user, contact, django_assert_max_num_queries
):
    for n in range(5):
        services.create_meeting(
            admin_user, contacts=[contact], title=f"M{n}", start=at(n - 2, 9), end=at(n - 2, 10)
        )
        services.create_task(
            admin_user, title=f"T{n}", contact=contact, due_at=at(n, 9) + timedelta(minutes=1)
        )
    with django_assert_max_num_queries(12):
        admin_client.get(reverse("crm:contact", args=[contact.pk]))


def test_only_the_owner_or_an_admin_changes_a_task(member_client, member_user, admin_user, contact):
    from crm import services

    task = services.create_task(admin_user, title="Admin's own", contact=contact)
    for name in ("crm:task_complete", "crm:task_delete"):
        response = member_client.post(reverse(name, args=[contact.pk, task.pk]))
        assert response.status_code == 403
    assert Task.objects.get(pk=task.pk).status == "open"
    mine = services.create_task(member_user, title="Mine", contact=contact)
    assert (
        member_client.post(reverse("crm:task_complete", args=[contact.pk, mine.pk])).status_code
        == 302
    )
