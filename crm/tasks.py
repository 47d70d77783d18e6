from celery import shared_task

from calendars.providers.base import ProviderError
from crm import task_sync

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
