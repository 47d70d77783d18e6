import contextlib
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


@shared_task(acks_late=True)
def recheck_domains() -> int:
    """Beat, hourly: re-check every custom domain's DNS records, one task per domain."""
    from scheduler.models import Domain

    ids = list(Domain.objects.values_list("pk", flat=True))
    for domain_id in ids:
        check_domain.delay(domain_id)
    return len(ids)


@shared_task(acks_late=True)
def check_domain(domain_id: int) -> None:
    from scheduler.domains import verify_domain
    from scheduler.models import Domain

    with contextlib.suppress(Domain.DoesNotExist):  # removed since it was queued
        verify_domain(domain_id)
