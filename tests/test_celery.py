import pytest

from scheduler.tasks import ping
from tests.support.celery import result_of


@pytest.mark.slow
def test_a_task_runs_in_a_real_celery_worker_against_redis(celery_worker):
    result = result_of(ping.delay(), 30)
    assert result["pong"] is True
    assert result["database"] is True
    assert result["worker"]  # answered by the worker process, not eagerly in the test
    assert ping.delay().backend.__class__.__name__ == "RedisBackend"
