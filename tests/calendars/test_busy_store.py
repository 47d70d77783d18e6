"""The busy-time store (calendars.busy) always equals a from-scratch merge of the mirror: after
any sequence of user edits synced in, app writes and their write-through, and availability
calendars switched on and off."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calendars import busy, outbox, sync
from calendars.models import BusyDay, CalendarWrite
from calendars.providers.base import EventWrite
from tests.support.times import at

MAILBOX = "owner@acme.example"
DAY = timedelta(days=1)


def _from_scratch(user_id: int) -> dict:
    """What the store should hold: the mirror merged now, cut per UTC day."""
    today = datetime.now(UTC).date()
    first, last = today - busy.FULL_SPAN[0], today + busy.FULL_SPAN[1]
    window = (busy._day_start(first), busy._day_start(last + DAY))
    merged = busy._merged(busy.availability_calendar_ids(user_id), *window)
    return {day: list(blocks) for day, blocks in busy._split(merged, first, last).items()}


def _stored(user_id: int) -> dict:
    from array import array

    found = {}
    for row in BusyDay.objects.filter(user_id=user_id):
        values = array("q")
        values.frombytes(bytes(row.blocks))
        found[row.day] = list(values)
    return found


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.sampled_from(["primary", "team"]),
            st.integers(0, 4),  # day
            st.integers(0, 47),  # half hour
            st.sampled_from([30, 60, 90, 600, 1500]),  # minutes, some past midnight
            st.booleans(),  # busy
        ),
        st.tuples(st.just("move"), st.integers(0, 50), st.integers(0, 4), st.integers(0, 47)),
        st.tuples(st.just("delete"), st.integers(0, 50)),
        st.tuples(st.just("app_write"), st.integers(0, 4), st.integers(0, 47)),
        st.tuples(st.just("app_delete"), st.integers(0, 50)),
        st.tuples(
            st.just("toggle_team"),
        ),
    ),
    min_size=1,
    max_size=8,
)


@pytest.fixture
def two_calendars(connection, sandbox_client):
    """The owner's main calendar and a writable "Team" calendar, synced."""
    sync.sync_connection(connection.pk, full=True)
    return (
        connection,
        connection.calendars.get(is_primary=True),
        connection.calendars.get(name="Team"),
    )


@pytest.mark.slow
def test_the_store_equals_a_merge_from_scratch_after_any_changes(two_calendars, sandbox_client):
    connection, primary, team = two_calendars
    user_id = connection.user_id
    created: list[tuple[str, str]] = []  # (calendar remote id, event id)
    app_keys: list[str] = []

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(operations)
    def check(ops):
        for op in ops:
            kind = op[0]
            if kind == "add":
                _, which, day, half, minutes, is_busy = op
                calendar = primary if which == "primary" else team
                start = at(1 + day, 0, 30 * half)
                event = sandbox_client.add_event(
                    MAILBOX,
                    calendar.remote_id,
                    summary="edit",
                    start=start.isoformat(),
                    end=(start + timedelta(minutes=minutes)).isoformat(),
                    transparency="opaque" if is_busy else "transparent",
                )
                created.append((calendar.remote_id, event["id"]))
            elif kind == "move" and created:
                calendar_id, event_id = created[op[1] % len(created)]
                start = at(1 + op[2], 0, 30 * op[3])  # often another day: both must follow
                sandbox_client.update_event(
                    MAILBOX,
                    calendar_id,
                    event_id,
                    start=start.isoformat(),
                    end=(start + timedelta(hours=1)).isoformat(),
                )
            elif kind == "delete" and created:
                calendar_id, event_id = created.pop(op[1] % len(created))
                sandbox_client.delete_event(MAILBOX, calendar_id, event_id)
            elif kind == "app_write":
                key = uuid.uuid4().hex
                start = at(1 + op[1], 0, 30 * op[2])
                outbox.enqueue(
                    connection,
                    CalendarWrite.Action.CREATE,
                    key,
                    EventWrite(key, "Booked", start, start + timedelta(minutes=30)),
                )
                outbox.sweep()
                app_keys.append(key)
            elif kind == "app_delete" and app_keys:
                key = app_keys.pop(op[1] % len(app_keys))
                outbox.enqueue(connection, CalendarWrite.Action.DELETE, key)
                outbox.sweep()  # the write-through removes it before any sync
                assert _stored(user_id) == _from_scratch(user_id)
            elif kind == "toggle_team":
                team.refresh_from_db()
                team.for_availability = not team.for_availability
                team.save(update_fields=["for_availability"])
                busy.refresh(user_id)  # what the settings page does when saving
            sync.sync_connection(connection.pk)
            assert _stored(user_id) == _from_scratch(user_id), op

    check()


def test_reading_the_store_gives_each_hosts_merged_busy_time(two_calendars, sandbox_client):
    connection, primary, _ = two_calendars
    for hour in (9, 10):  # touching events come back as one interval
        sandbox_client.add_event(
            MAILBOX,
            primary.remote_id,
            summary="back to back",
            start=at(2, hour).isoformat(),
            end=at(2, hour + 1).isoformat(),
        )
    sandbox_client.add_event(
        MAILBOX,
        primary.remote_id,
        summary="overnight",
        start=at(2, 22).isoformat(),
        end=at(3, 2).isoformat(),
    )
    sync.sync_connection(connection.pk)
    starts, ends = busy.read([connection.user_id], at(2), at(4))[connection.user_id]
    micros = busy._micros
    assert (micros(at(2, 9)), micros(at(2, 11))) in zip(starts, ends, strict=True)
    # The overnight event is cut at midnight; the two pieces meet there.
    assert (micros(at(2, 22)), micros(at(3))) in zip(starts, ends, strict=True)
    assert (micros(at(3)), micros(at(3, 2))) in zip(starts, ends, strict=True)


def test_moving_an_event_to_another_day_frees_the_day_it_left(two_calendars, sandbox_client):
    connection, primary, _ = two_calendars
    event = sandbox_client.add_event(
        MAILBOX,
        primary.remote_id,
        summary="x",
        start=at(1, 9).isoformat(),
        end=at(1, 10).isoformat(),
    )
    sync.sync_connection(connection.pk)
    assert at(1).date() in _stored(connection.user_id)
    sandbox_client.update_event(
        MAILBOX,
        primary.remote_id,
        event["id"],
        start=at(3, 9).isoformat(),
        end=at(3, 10).isoformat(),
    )
    sync.sync_connection(connection.pk)
    stored = _stored(connection.user_id)
    assert at(1).date() not in stored and at(3).date() in stored
    assert stored == _from_scratch(connection.user_id)
    sandbox_client.delete_event(MAILBOX, primary.remote_id, event["id"])
    sync.sync_connection(connection.pk)
    assert _stored(connection.user_id) == _from_scratch(connection.user_id) == {}


def test_removing_an_availability_calendar_frees_its_time_at_once(
    two_calendars, sandbox_client, admin_client, django_capture_on_commit_callbacks
):
    connection, _, team = two_calendars
    team.for_availability = True
    team.save(update_fields=["for_availability"])
    sandbox_client.add_event(
        MAILBOX,
        team.remote_id,
        summary="team stand-up",
        start=at(2, 9).isoformat(),
        end=at(2, 10).isoformat(),
    )
    sync.sync_connection(connection.pk, full=True)
    assert at(2).date() in _stored(connection.user_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/app/settings/general/calendar/calendars/{team.pk}/remove/")
    assert response.status_code == 302
    # Not a week later at the next full sync: now.
    assert at(2).date() not in _stored(connection.user_id)
    assert _stored(connection.user_id) == _from_scratch(connection.user_id)
