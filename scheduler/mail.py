"""Outgoing email as an outbox: queued in the caller's transaction, sent after commit by a
worker, one email per task, retried with the shared backoff until it goes out.

A mail server that is down for an hour delays emails by an hour; it never loses one, never
sends one twice because a sibling failed, and never fails the request that asked for it.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import timedelta

from celery import shared_task
from django.core.mail import EmailMessage
from django.utils import timezone

from scheduler import leases
from scheduler.models import OutgoingEmail
from scheduler.retry import backoff

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
LEASE_SECONDS = 60  # longer than an SMTP conversation's timeout


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes
    mimetype: str


@dataclass(frozen=True)
class Limit:
    """At most `count` emails of one kind to one recipient within `within`."""

    count: int
    within: timedelta


def queue(
    to: str,
    subject: str,
    body: str,
    *,
    kind: str = "",
    attachments: tuple[Attachment, ...] = (),
    limit: Limit | None = None,
    reply_to: str = "",
) -> OutgoingEmail:
    """Queue one email; it is sent after the current transaction commits.

    With `limit`, an email over the recipient's limit for this kind is recorded as suppressed
    and not sent (a flood of bookings to one address must not become a flood of mail).
    """
    state = OutgoingEmail.State.PENDING
    if limit is not None and _over_limit(to, kind, limit):
        state = OutgoingEmail.State.SUPPRESSED
        logger.warning("email suppressed by its rate limit", extra={"kind": kind})
    email = OutgoingEmail.objects.create(
        to=to,
        subject=" ".join(subject.split())[:255],  # a line break in a subject breaks the mail
        body=body,
        reply_to=reply_to,
        kind=kind,
        state=state,
        attachments=[
            {
                "name": a.name,
                "content": base64.b64encode(a.content).decode(),
                "mimetype": a.mimetype,
            }
            for a in attachments
        ],
    )
    if state == OutgoingEmail.State.PENDING:
        send_email.delay_on_commit(email.pk)
    return email


def _over_limit(to: str, kind: str, limit: Limit) -> bool:
    since = timezone.now() - limit.within
    recent = OutgoingEmail.objects.filter(to__iexact=to, kind=kind, created_at__gte=since)
    return recent.exclude(state=OutgoingEmail.State.SUPPRESSED).count() >= limit.count


def send(email_id: int) -> str:
    """Send one queued email unless it is sent, failed for good, or being sent elsewhere."""
    lease = leases.claim(
        OutgoingEmail, email_id, seconds=LEASE_SECONDS, state=OutgoingEmail.State.PENDING
    )
    if lease is None:
        return "skipped"
    email = OutgoingEmail.objects.get(pk=email_id)
    with lease:
        try:
            _message(email).send()
        except Exception as exc:  # SMTP errors, timeouts, a refused recipient...
            return _failed(email, lease, exc)
    lease.release(
        state=OutgoingEmail.State.SENT,
        sent_at=timezone.now(),
        attempts=email.attempts + 1,
        last_error="",
    )
    return "sent"


def _message(email: OutgoingEmail) -> EmailMessage:
    message = EmailMessage(
        email.subject,
        email.body,
        to=[email.to],
        reply_to=[email.reply_to] if email.reply_to else None,
    )
    for item in email.attachments:
        message.attach(item["name"], base64.b64decode(item["content"]), item["mimetype"])
    return message


def _failed(email: OutgoingEmail, lease: leases.Lease, error: Exception) -> str:
    attempts = email.attempts + 1
    logger.warning("email could not be sent", extra={"email": email.pk, "error": str(error)})
    if attempts >= MAX_ATTEMPTS:
        lease.release(state=OutgoingEmail.State.FAILED, attempts=attempts, last_error=str(error))
        logger.error("email failed for good", extra={"email": email.pk})
        return "failed"
    lease.release(
        attempts=attempts,
        last_error=str(error)[:2000],
        next_attempt_at=timezone.now() + backoff(attempts, first=timedelta(seconds=30)),
    )
    return "retrying"


def due_ids(limit: int = 500) -> list[int]:
    return list(
        OutgoingEmail.objects.filter(
            state=OutgoingEmail.State.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


@shared_task(acks_late=True)
def send_email(email_id: int) -> str:
    return send(email_id)


def sweep() -> dict[str, int]:
    """Send every email that is due (the repair of anything missed: a lost task, a crash)."""
    outcomes: dict[str, int] = {}
    for email_id in due_ids():
        outcome = send(email_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
