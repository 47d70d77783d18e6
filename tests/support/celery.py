"""Waiting for results of the real worker from a test."""

from celery.result import allow_join_result


def result_of(async_result, timeout: float = 30):
    """`async_result.get()`, allowed even while a live-server thread of this process runs an
    eager task (Celery keeps its "inside a task" flag process-wide, not per thread)."""
    with allow_join_result():
        return async_result.get(timeout=timeout)
