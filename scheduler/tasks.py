import socket

from celery import shared_task
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from scheduler import mail

HEARTBEAT_KEY = "scheduler:beat:last"


@shared_task(ignore_result=False)
def ping() -> dict:
    """Answer from a worker: proves the broker, the worker and its database all work."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (db_ok,) = cursor.fetchone()
    return {"pong": True, "worker": socket.gethostname(), "database": db_ok == 1}


@shared_task
def heartbeat() -> None:
    """Sent by beat every minute; /healthz reports how long ago a worker last ran it."""
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), timeout=None)


@shared_task
def sweep_emails() -> dict:
    """Sent by beat every minute: send every queued email that is due."""
    return mail.sweep()
