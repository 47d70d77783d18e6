"""Gunicorn settings shared by `make run`, the Dockerfile and docker-compose.

Threaded workers (gthread): a request that waits on a provider (the booking's live free/busy
check, at most LIVE_CHECK_BUDGET_SECONDS) or on a row lock holds a thread, not a process.
Each thread keeps at most one database connection (CONN_MAX_AGE), so a web process never
holds more than WEB_THREADS connections, and the whole web tier WEB_WORKERS x WEB_THREADS.
The listen backlog queues bursts instead of resetting connections. Every value can be set
from the environment; the defaults fit a 2-core machine (see README, "Processes").
"""

import os

# In a container the app listens on every interface; `make run` sets HOST=127.0.0.1.
_host = os.environ.get("HOST", "0.0.0.0")  # noqa: S104
bind = os.environ.get("WEB_BIND") or f"{_host}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# Longer than the longest request the app allows itself: a booking's live check (3 s)
# plus its lock retries (20 s).
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))
backlog = int(os.environ.get("WEB_BACKLOG", "2048"))
# Recycle workers now and then so that a slow leak never becomes an outage.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
accesslog = "-" if os.environ.get("WEB_ACCESS_LOG", "1") == "1" else None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
