from celery import shared_task

from meetings import emails


@shared_task
def send_booking_confirmed(booking_id: int) -> None:
    emails.send_confirmation(booking_id)


@shared_task
def send_request_received(booking_id: int) -> None:
    emails.send_request_received(booking_id)


@shared_task
def send_booking_cancelled(booking_id: int) -> None:
    emails.send_cancellation(booking_id)


@shared_task
def send_booking_rescheduled(booking_id: int) -> None:
    emails.send_rescheduled(booking_id)


@shared_task
def send_inactive_calendar_alert(page_id: int, calendar_names: list[str], start_iso: str) -> None:
    emails.send_inactive_calendar_alert(page_id, calendar_names, start_iso)
