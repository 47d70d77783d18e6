"""Test defaults on top of the one real settings module.

Tests run against PostgreSQL and Redis on this machine unless DATABASE_URL / REDIS_URL say
otherwise; everything else comes from scheduler/settings.py, exactly as in production.
"""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/scheduler")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# The cache gets its own database: tests clear it, which must never touch the broker's queues.
os.environ.setdefault("CACHE_URL", os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/14")
os.environ.setdefault("CACHE_KEY_PREFIX", "scheduler-tests")
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 40)
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "9pUXQ4lX8hRNJkRdQkTzS1m6Q8xq0n5mJQtrCWRfY1U=")
os.environ.setdefault("LOG_FORMAT", "plain")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Tasks run inline unless a test asks for the real worker (fixture `celery_worker`).
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
# Push channels only where a test turns them on (it needs a live server to receive them).
os.environ.setdefault("CALENDAR_PUSH_ENABLED", "0")

from scheduler.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
ACCOUNT_RATE_LIMITS = False  # tests sign in many times from one address
CELERY_TASK_EAGER_PROPAGATES = True
