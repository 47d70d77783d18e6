"""The self-hosted set (docker-compose.yml, Dockerfile, Caddyfile) read as a new operator
would run it. No Docker engine runs here: the compose file is parsed and interpolated as
Compose does, and the containers' own entrypoint runs as a process against PostgreSQL."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import requests
import yaml
from cryptography.fernet import Fernet
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
APP_SERVICES = ("web", "worker", "beat")
# What the README's self-hosting section asks for on a first run: nothing else.
FIRST_RUN = {
    "SECRET_KEY": "first-run-secret-" + "k" * 40,
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
}
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: dict) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} interpolation."""

    def replace(match):
        name, op, arg = match.group(1), match.group(2), match.group(3)
        current = env.get(name)
        if op == ":?" and not current:
            raise KeyError(f"{name}: {arg}")
        if op == ":-" and not current:
            return arg
        return current or ""

    return VARIABLE.sub(replace, value)


def app_environment(env: dict) -> dict[str, str]:
    raw = COMPOSE["services"]["web"]["environment"]
    return {key: interpolate(str(value), env) for key, value in raw.items()}


def required_when_debug_is_off() -> list[str]:
    source = (ROOT / "scheduler" / "settings.py").read_text()
    return sorted(set(re.findall(r'_require\("(\w+)"\)', source)))


def test_every_service_is_there_with_a_healthcheck():
    services = COMPOSE["services"]
    assert {"proxy", "web", "worker", "beat", "postgres", "redis", "sandbox"} <= services.keys()
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
    for name in APP_SERVICES:
        assert services[name]["environment"] == services["web"]["environment"]
    assert "ports" not in services["web"]  # only the proxy is reachable from outside
    assert services["proxy"]["ports"][:2] == ["80:80", "443:443"]


def test_app_containers_run_as_an_unprivileged_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER 10001", dockerfile, re.M)
    for name in (*APP_SERVICES, "sandbox"):
        assert "user" not in COMPOSE["services"][name], f"{name} overrides the image's user"
    assert COMPOSE["services"]["redis"]["user"] == "999:999"
    assert COMPOSE["services"]["proxy"]["cap_drop"] == ["ALL"]


def test_the_first_run_variables_give_every_required_setting():
    env = app_environment(FIRST_RUN)
    assert env["DEBUG"] == "0"
    for name in required_when_debug_is_off():
        assert env.get(name), f"{name} is required when DEBUG=0 but compose does not pass it"
    # Plain http on localhost until a real host and certificate exist: no redirect, no HSTS.
    assert env["APP_BASE_URL"] == "http://localhost"
    assert env["SECURE_SSL_REDIRECT"] == "0" and env["SECURE_COOKIES"] == "0"
    assert env["SECURE_HSTS_SECONDS"] == "0"
    with pytest.raises(KeyError, match="SECRET_KEY"):
        app_environment({})


def test_mail_and_sandbox_settings_are_passed_through():
    env = app_environment(
        {
            **FIRST_RUN,
            "EMAIL_HOST": "smtp.example.com",
            "EMAIL_PORT": "587",
            "EMAIL_USE_TLS": "1",
            "EMAIL_HOST_USER": "me",
            "EMAIL_HOST_PASSWORD": "pw",
            "DEFAULT_FROM_EMAIL": "Meetings <m@example.com>",
            "CALENDAR_SANDBOX_URL": "http://sandbox:8001",
            "CALENDAR_SANDBOX_CA_FILE": "/sandbox-ca/sandbox-ca.pem",
        }
    )
    assert env["EMAIL_HOST"] == "smtp.example.com" and env["EMAIL_PORT"] == "587"
    assert env["EMAIL_USE_TLS"] == "1" and env["EMAIL_HOST_PASSWORD"] == "pw"
    assert env["DEFAULT_FROM_EMAIL"] == "Meetings <m@example.com>"
    assert env["CALENDAR_SANDBOX_URL"] == "http://sandbox:8001"
    # oauthlib treats any non-empty value as "allow http": it must stay empty by default.
    assert app_environment(FIRST_RUN)["OAUTHLIB_INSECURE_TRANSPORT"] == ""
    sandbox = COMPOSE["services"]["sandbox"]
    assert "--ca-dir" in sandbox["command"] and "/sandbox-ca" in sandbox["command"]
    assert "sandbox-ca:/sandbox-ca:ro" in COMPOSE["x-app"]["volumes"]


def test_the_caddyfile_asks_the_app_before_any_certificate():
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "ask http://web:8000/tls/ask" in caddyfile and "on_demand" in caddyfile
    assert "respond @internal 404" in caddyfile
    if shutil.which("caddy"):
        subprocess.run(
            ["caddy", "adapt", "--config", str(ROOT / "deploy" / "Caddyfile")],
            check=True,
            capture_output=True,
        )


def _docker_engine() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _docker_engine(), reason="no Docker engine on this machine")
def test_docker_compose_accepts_the_file():
    subprocess.run(
        ["docker", "compose", "config", "--quiet"],
        cwd=ROOT,
        env={**os.environ, **FIRST_RUN},
        check=True,
    )


# --- The containers' entrypoint, run as a process ---------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def fresh_database():
    db = settings.DATABASES["default"]
    name = f"{db['NAME']}_deploy"
    admin = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"]}
    if db.get("PASSWORD"):
        admin["password"] = db["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    yield f"postgres://{db['USER']}{password}@{db['HOST']}:{admin['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def container_env(fresh_database, tmp_path):
    """The web container's environment from the first-run variables; only the service
    host names differ (this machine's PostgreSQL and Redis instead of the compose ones)."""
    env = app_environment(FIRST_RUN)
    env.update(
        DATABASE_URL=fresh_database,
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        PORT=str(_free_port()),
        WEB_CONCURRENCY="1",
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        HOME=str(tmp_path),
        LOG_FORMAT="plain",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    return env


@pytest.mark.slow
def test_the_web_entrypoint_migrates_serves_plain_http_and_the_first_admin_signs_in(
    container_env, tmp_path
):
    # What the image build does (Dockerfile): the hashed static files production serves.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=container_env,
        check=True,
    )
    log_path = tmp_path / "web.log"
    with log_path.open("w") as log:
        web = subprocess.Popen(
            ["bin/docker-entrypoint", "web"],
            cwd=ROOT,
            env=container_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{container_env['PORT']}"
    try:
        health = _wait_healthy(f"{base}/healthz", web, log_path)
        assert health["database"] == "ok" and health["broker"] == "ok"
        home = requests.get(
            base + "/", headers={"Host": "localhost"}, allow_redirects=False, timeout=10
        )
        assert home.status_code == 302 and home.headers["Location"].startswith("/accounts/")
        assert "Strict-Transport-Security" not in home.headers
        assert (
            requests.get(f"{base}/", headers={"Host": "evil.example"}, timeout=10).status_code
            == 400
        )

        healthcheck = subprocess.run(
            ["bin/healthcheck", "web"], cwd=ROOT, env=container_env, capture_output=True
        )
        assert healthcheck.returncode == 0, healthcheck.stderr

        created = subprocess.run(
            [
                *("bin/docker-entrypoint", "python", "manage.py", "create_admin"),
                *("--email", "Owner@Example.com", "--company", "Example Inc"),
            ],
            cwd=ROOT,
            env=container_env,
            capture_output=True,
            text=True,
            check=True,
        )
        link = re.search(r"http://localhost(/accounts/\S+)", created.stdout).group(1)
        session = requests.Session()
        form = session.get(base + link, headers={"Host": "localhost"})
        assert form.status_code == 200 and "password" in form.text.lower()
        token = session.cookies["csrftoken"]
        done = session.post(
            form.url.replace("localhost", f"127.0.0.1:{container_env['PORT']}"),
            data={"password1": "A-long-new-password-1", "password2": "A-long-new-password-1",
                  "csrfmiddlewaretoken": token},
            headers={"Host": "localhost", "Referer": "http://localhost/"},
            allow_redirects=False,
        )  # fmt: skip
        assert done.status_code == 302, done.text[:500]
        login = session.get(base + "/accounts/login/", headers={"Host": "localhost"})
        signed_in = session.post(
            base + "/accounts/login/",
            data={"login": "owner@example.com", "password": "A-long-new-password-1",
                  "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Host": "localhost", "Referer": "http://localhost/accounts/login/"},
            allow_redirects=False,
        )  # fmt: skip
        assert login.status_code == 200
        assert signed_in.status_code == 302
        assert signed_in.headers["Location"] == "/app/meetings/"
    finally:
        os.killpg(web.pid, 15)
        web.wait(timeout=30)


def _wait_healthy(url: str, process: subprocess.Popen, log_path: Path) -> dict:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the entrypoint exited: {log_path.read_text()[-3000:]}")
        try:
            response = requests.get(url, headers={"Host": "localhost"}, timeout=2)
            if response.status_code == 200:
                return response.json()
        # Not listening yet, or gunicorn's socket is open but no worker has booted yet (a
        # busy machine): both mean "not yet".
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"web did not become healthy: {log_path.read_text()[-3000:]}")
