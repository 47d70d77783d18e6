from celery import shared_task

from meetings import requests


@shared_task
def expire_meeting_requests() -> int:
    """Sent by beat: expire meeting requests nobody answered in time (contacts are told)."""
    return requests.expire_due()
