import itertools
import os

import pytest
from allauth.account.models import EmailAddress

from scheduler.models import Account, Tier, User

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by tests
# around it are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _clean_cache():
    """Redis outlives test runs and rolled-back transactions: start every test empty."""
    from django.core.cache import cache

    cache.clear()


_seq = itertools.count(1)


@pytest.fixture
def make_account(db):
    def make(name: str | None = None, **fields) -> Account:
        fields.setdefault("sales_tier", Tier.PROFESSIONAL)
        return Account.objects.create(name=name or f"Account {next(_seq)}", **fields)

    return make


@pytest.fixture
def make_user(db, make_account):
    def make(email: str | None = None, account: Account | None = None, **fields) -> User:
        email = email or f"user{next(_seq)}@example.com"
        fields.setdefault("role", User.Role.MEMBER)
        user = User.objects.create_user(
            email, PASSWORD, account=account or make_account(), **fields
        )
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
        return user

    return make


@pytest.fixture
def account(make_account) -> Account:
    return make_account("Acme")


@pytest.fixture
def admin_user(make_user, account) -> User:
    return make_user(
        "admin@acme.example", account, role=User.Role.ADMIN, personal_email_access=True
    )


@pytest.fixture
def member_user(make_user, account) -> User:
    return make_user("member@acme.example", account)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def member_client(client, member_user):
    client.force_login(member_user)
    return client


@pytest.fixture(scope="session")
def worker_mail_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("worker-mail")


@pytest.fixture(scope="session")
def worker_env(django_db_setup, sandbox, live_server):
    """The environment of a real worker process: the test database, the session's sandbox
    and the live server as the app's public address."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    )
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CALENDAR_SANDBOX_URL": sandbox.http_url,
        "CALENDAR_SANDBOX_HTTPS_URL": sandbox.https_url,
        "CALENDAR_SANDBOX_CA_FILE": str(sandbox.ca_file),
        "OAUTHLIB_INSECURE_TRANSPORT": "1",
        "EXCHANGE_ALLOW_PRIVATE_URLS": "1",
        "APP_BASE_URL": live_server.url,
        "CALENDAR_PUSH_ENABLED": "1",
    }


@pytest.fixture(scope="session")
def celery_worker_process(worker_env, worker_mail_dir):
    """A real Celery worker (separate process) on Redis, using the test database, the
    session's sandbox and the live server as the app's public address.

    Tests that need it must commit their data: use `transactional_db`. Mail the worker
    sends lands as files in `worker_mail_dir`.
    """
    import subprocess
    import sys
    from pathlib import Path

    from scheduler.celery import app

    env = {
        **worker_env,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(worker_mail_dir),
    }
    app.control.purge()  # nothing left over from an earlier run
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "scheduler",
            "worker",
            "--pool=threads",
            "--concurrency=4",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--hostname=pytest@%h",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
    )
    try:
        deadline = 60
        import time

        start = time.monotonic()
        while not app.control.ping(timeout=0.5):
            if worker.poll() is not None or time.monotonic() - start > deadline:
                raise RuntimeError("the Celery worker did not start")
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)


@pytest.fixture
def celery_worker(celery_worker_process, transactional_db):
    """Send tasks to the real worker process instead of running them inline."""
    from scheduler.celery import app

    app.conf.task_always_eager = False
    yield celery_worker_process
    app.conf.task_always_eager = True


# --- Provider sandbox -------------------------------------------------------------------


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    """The provider sandbox on free loopback ports, for the whole session."""
    from sandbox.testing import start_sandbox

    # The app's push receivers (live server, test receivers) listen on plain http.
    running = start_sandbox(tmp_path_factory.mktemp("sandbox-ca"), allow_http_push=True)
    yield running
    running.stop()


@pytest.fixture
def sandbox_client(sandbox, settings, monkeypatch):
    """A clean sandbox, with every provider setting pointing at it."""
    from tests.support.sandbox import SandboxClient, point_settings_at

    point_settings_at(settings, sandbox)
    # The sandbox speaks plain http; oauthlib refuses that unless told (sandbox only).
    monkeypatch.setitem(os.environ, "OAUTHLIB_INSECURE_TRANSPORT", "1")
    client = SandboxClient(sandbox.http_url)
    client.reset()
    return client


# --- DNS --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def loopback_dns():
    from tests.support.dns import LoopbackDns

    server = LoopbackDns().start()
    yield server
    server.stop()


@pytest.fixture
def dns_zone(loopback_dns, settings):
    """An empty zone on the loopback DNS server, which the app's domain checks ask."""
    settings.CUSTOM_DOMAIN_DNS_NAMESERVERS = ["127.0.0.1"]
    settings.CUSTOM_DOMAIN_DNS_PORT = loopback_dns.port
    settings.CUSTOM_DOMAIN_DNS_TIMEOUT = 2.0
    settings.CUSTOM_DOMAIN_TARGET = "app.meetings.test"
    loopback_dns.zone.clear()
    yield loopback_dns.zone
    loopback_dns.zone.clear()
