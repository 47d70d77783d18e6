from celery import shared_task

from meetings import conferencing, reminders, requests

# How often, and how many times, a booking whose video link is still being created is asked
# again right away; the periodic sweep keeps asking after that.
CONFERENCE_RETRY_SECONDS = 3
CONFERENCE_RETRIES = 10


@shared_task
def expire_meeting_requests() -> int:
    """Sent by beat: expire meeting requests nobody answered in time (contacts are told)."""
    return requests.expire_due()


@shared_task(acks_late=True, ignore_result=False)
def send_planned_emails() -> dict[str, int]:
    """Sent by beat: send the reminders (and held confirmations) that are due."""
    return reminders.send_due()


@shared_task(acks_late=True)
def send_planned_email(planned_email_id: int) -> str:
    return reminders.send(planned_email_id)


@shared_task(acks_late=True)
def fetch_conference_link(booking_id: int, attempt: int = 0) -> str:
    """The booking's calendar event was created: read its video link back (asked again a
    few times while the provider is still creating it; then the periodic sweep asks)."""
    outcome = conferencing.fetch(booking_id)
    if outcome in ("pending", "waiting") and attempt < CONFERENCE_RETRIES:
        fetch_conference_link.apply_async(
            (booking_id, attempt + 1), countdown=CONFERENCE_RETRY_SECONDS
        )
    return outcome


@shared_task
def sweep_conference_links() -> dict[str, int]:
    """Sent by beat: ask again for every video link still missing (a lost signal, a
    provider that was slow or down)."""
    outcomes: dict[str, int] = {}
    for booking_id in conferencing.pending_ids():
        outcome = conferencing.fetch(booking_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
