from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

MAILBOX = "owner@acme.example"


def _run(*args) -> str:
    out = StringIO()
    call_command("sync_calendars", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_sync_calendars_prints_what_changed(connection, sandbox_client, admin_user):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    for n in range(3):
        sandbox_client.add_event(
            MAILBOX,
            MAILBOX,
            summary=f"Event {n}",
            start=(start + timedelta(hours=n)).isoformat(),
            end=(start + timedelta(hours=n, minutes=30)).isoformat(),
        )
    output = _run("--user", admin_user.email, "--full")
    assert f"{admin_user.email} (Google): 3 added or updated, 0 removed" in output
    assert "0 added or updated, 0 removed" in _run("--user", admin_user.email.upper())


def test_sync_calendars_fails_loudly(connection, sandbox_client, admin_user):
    with pytest.raises(CommandError, match="has no connected calendar"):
        _run("--user", "nobody@example.com")
    sandbox_client.fault("google", "server_error", email=MAILBOX, status=503, count=5)
    with pytest.raises(CommandError, match="could not be synced"):
        _run("--user", admin_user.email)
