import smtplib

from celery import shared_task

from calendars.providers.base import ProviderError
from crm import sales_emails, task_sync

RETRY_DELAY = 60


@shared_task(bind=True, max_retries=10)
def enable_task_sync(self, connection_id: int) -> None:
    """Create the task sub-calendar and fill it; retried while the provider is unavailable."""
    try:
        task_sync.enable(connection_id)
    except ProviderError as exc:
        if exc.permanent:
            raise
        raise self.retry(exc=exc, countdown=getattr(exc, "retry_after", RETRY_DELAY)) from exc


@shared_task(bind=True, max_retries=10)
def disable_task_sync(self, connection_id: int) -> None:
    try:
        task_sync.disable(connection_id)
    except ProviderError as exc:
        if exc.permanent:
            raise
        raise self.retry(exc=exc, countdown=getattr(exc, "retry_after", RETRY_DELAY)) from exc


MAIL_ERRORS = (smtplib.SMTPException, OSError)


@shared_task(bind=True, acks_late=True, max_retries=5)
def send_sales_email(self, email_id: int) -> None:
    """Send a queued sales email; retried with backoff while the mail server fails, then
    marked "not sent" on the contact's timeline."""
    try:
        sales_emails.deliver(email_id)
    except MAIL_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            sales_emails.mark_failed(email_id, str(exc) or exc.__class__.__name__)
            return
        raise self.retry(exc=exc, countdown=RETRY_DELAY * 2**self.request.retries) from exc
