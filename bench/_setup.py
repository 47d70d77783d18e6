"""Shared set-up for the benchmarks: a PostgreSQL database of their own, Django, the sandbox.

Benchmarks print figures and ratios against a baseline measured in the same run; nothing
here asserts a timing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DATABASE = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/scheduler_bench"
)
BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "scheduler.settings",
    "DEBUG": "1",
    "DATABASE_URL": BENCH_DATABASE,
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
    "LOG_LEVEL": "ERROR",
    "LOG_FORMAT": "plain",
    "CALENDAR_PUSH_ENABLED": "0",
    "OAUTHLIB_INSECURE_TRANSPORT": "1",
}


def setup_django(extra_env: dict[str, str] | None = None) -> None:
    """Create the bench database if needed, point Django at it and migrate."""
    import psycopg

    os.environ.update({**BENCH_ENV, **(extra_env or {})})
    name = BENCH_DATABASE.rsplit("/", 1)[1]
    admin_url = BENCH_DATABASE.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def sandbox_env(running) -> dict[str, str]:
    return {
        "CALENDAR_SANDBOX_URL": running.http_url,
        "CALENDAR_SANDBOX_HTTPS_URL": running.https_url,
        "CALENDAR_SANDBOX_CA_FILE": str(running.ca_file),
        "EXCHANGE_ALLOW_PRIVATE_URLS": "1",
    }


def fresh_user(email: str):
    """A clean account and admin for one benchmark run (earlier runs' data removed)."""
    from calendars.models import CalendarConnection
    from meetings.models import Booking, SchedulingPage
    from scheduler.models import Account, User

    old = User.objects.filter(email=email).first()
    if old is not None:
        Booking.objects.filter(page__account=old.account).delete()
        SchedulingPage.objects.filter(account=old.account).delete()
        CalendarConnection.objects.filter(user__account=old.account).delete()
        account = old.account
        old.delete()
        account.delete()
    account = Account.objects.create(name="Bench", sales_tier="professional")
    return User.objects.create_user(
        email,
        "bench-pass",
        account=account,
        role="admin",
        personal_email_access=True,
        timezone="UTC",
    )


def figure(label: str, value: float, unit: str) -> None:
    print(f"  {label:<58} {value:>12,.1f} {unit}")


def quiet() -> None:
    """The sandbox's request log would drown the figures."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
