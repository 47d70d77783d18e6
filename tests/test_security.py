"""Security as part of correctness: admin sign-in has the second factor and throttling, every
secret at rest is encrypted or hashed (checked in a real database dump), keys rotate, the
host is checked before any redirect, every page carries a Content-Security-Policy, the SSRF
guard refuses every address form that leads back inside, and push notifications need the
channel's secret."""

import ipaddress
import json
import subprocess
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection as db
from django.test import override_settings

from calendars import netsafety, push
from calendars.models import Calendar, CalendarConnection
from tests.conftest import PASSWORD

# --- Admin sign-in --------------------------------------------------------------------------


@pytest.fixture
def staff(make_user):
    return make_user("staff@ops.example", is_staff=True, is_superuser=True)


def _sign_in(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_the_admin_has_no_password_form_of_its_own(client, staff):
    response = client.get("/admin/login/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    # Posting a password to the admin's old form signs nobody in.
    response = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert client.get("/admin/").status_code == 302


def test_staff_without_two_factor_are_sent_to_set_it_up(client, staff):
    assert _sign_in(client, staff.email).status_code == 302
    response = client.get("/admin/", follow=True)
    # To the TOTP set-up (through allauth's "confirm your password" step first).
    assert "2fa/totp/activate" in unquote(response.redirect_chain[-1][0])
    assert "two-factor" in response.content.decode()


def test_staff_with_totp_must_give_the_code_to_reach_the_admin(client, staff):
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    response = _sign_in(client, staff.email)
    assert response.url.startswith("/accounts/2fa/authenticate")
    assert client.get("/admin/").status_code == 302  # the password alone is not enough
    counter = int(datetime.now(UTC).timestamp()) // 30
    code = f"{hotp_value(secret, counter):06d}"
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "5/5m/key"})
def test_failed_sign_ins_are_throttled(client, staff):
    for _ in range(5):
        assert _sign_in(client, staff.email, "wrong-password").status_code == 200
    response = _sign_in(client, staff.email)  # the right password, too late
    assert response.status_code in (200, 429)
    assert not client.session.get("_auth_user_id")


def test_members_never_reach_the_admin(client, member_user):
    _sign_in(client, member_user.email)
    assert client.get("/admin/login/").status_code == 403
    assert client.get("/admin/").status_code == 302


# --- Secrets at rest ------------------------------------------------------------------------

TOTP_SECRET = generate_totp_secret()
EWS_PASSWORD = "ews-Password-that-must-not-leak-42"
OAUTH_REFRESH = "1//refresh-token-that-must-not-leak"
OAUTH_ACCESS = "ya29.access-token-that-must-not-leak"
CHANNEL_TOKEN = "push-channel-secret-that-must-not-leak"


@pytest.fixture
def secrets_stored(transactional_db, make_user):
    user = make_user("owner@secrets.example")
    TOTP.activate(user, TOTP_SECRET)
    codes = RecoveryCodes.activate(user)
    google = CalendarConnection.objects.create(
        user=user,
        provider="google",
        account_email="owner@secrets.example",
        credentials_json=json.dumps({"token": OAUTH_ACCESS, "refresh_token": OAUTH_REFRESH}),
    )
    other = make_user("ews@secrets.example")
    CalendarConnection.objects.create(
        user=other,
        provider="exchange",
        account_email="ews@secrets.example",
        credentials_json=json.dumps({"password": EWS_PASSWORD}),
    )
    Calendar.objects.create(
        connection=google,
        remote_id="primary",
        name="Main",
        access="owner",
        channel_id="chan-1",
        channel_token_hash=push.token_digest(CHANNEL_TOKEN),
    )
    return user, codes


def _dump() -> str:
    settings = db.settings_dict
    return subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            settings["HOST"],
            "-p",
            str(settings["PORT"] or 5432),
            "-U",
            settings["USER"],
            settings["NAME"],
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_a_database_dump_holds_no_secret_in_plaintext(secrets_stored):
    user, codes = secrets_stored
    dump = _dump()
    seed_codes = codes.generate_codes()
    assert "owner@secrets.example" in dump  # the dump is real and has the rows
    for secret in (TOTP_SECRET, EWS_PASSWORD, OAUTH_REFRESH, OAUTH_ACCESS, CHANNEL_TOKEN):
        assert secret not in dump, secret
    from allauth.mfa.models import Authenticator

    seed_data = Authenticator.objects.get(user=user, type="recovery_codes").data["seed"]
    assert seed_data.startswith("fernet:")  # encrypted, and the codes still work
    assert codes.validate_code(seed_codes[0])


def test_rotating_the_keys_leaves_nothing_under_the_old_key(secrets_stored, settings):
    user, _ = secrets_stored
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys", verbosity=0)

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    connection = CalendarConnection.objects.get(provider="exchange")
    assert connection.credentials["password"] == EWS_PASSWORD
    totp = TOTP(user.authenticator_set.get(type="totp"))
    counter = int(datetime.now(UTC).timestamp()) // 30
    assert totp.validate_code(f"{hotp_value(TOTP_SECRET, counter):06d}")

    old = Fernet(old_key.encode())
    tokens = [
        word.removeprefix("fernet:").strip('",')
        for word in _dump().replace("\t", " ").split()
        if word.strip('",').removeprefix("fernet:").startswith("gAAAAA")
    ]
    assert tokens, "the dump should hold ciphertexts"
    for token in tokens:
        with pytest.raises(InvalidToken):
            old.decrypt(token.encode())


# --- Hosts, redirects and the Content-Security-Policy ----------------------------------------


@override_settings(SECURE_SSL_REDIRECT=True)
def test_a_foreign_host_gets_a_400_not_a_redirect_to_it(client, db):
    response = client.get("/accounts/login/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "evil.example" not in response.get("Location", "")
    own = client.get("/accounts/login/", HTTP_HOST="localhost")
    assert own.status_code == 301 and own["Location"].startswith("https://localhost/")


@pytest.mark.parametrize("path", ["/accounts/login/", "/app/meetings/", "/meetings/public"])
def test_every_html_page_carries_a_content_security_policy(admin_client, admin_user, path):
    from meetings.models import SchedulingPage

    SchedulingPage.objects.create(
        account=admin_user.account, owner=admin_user, name="Public", slug="public"
    )
    response = admin_client.get(path)
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response["X-Frame-Options"] == "DENY"


# --- The SSRF guard ----------------------------------------------------------------------------

REFUSED = [
    "127.0.0.1",
    "10.1.2.3",
    "100.64.0.1",  # carrier-grade NAT
    "169.254.169.254",  # cloud metadata
    "192.0.0.8",
    "198.18.0.1",  # benchmarking
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:127.0.0.1",  # IPv4-mapped
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001:db8::1",  # documentation
    "fec0::1",  # site-local
    "fc00::1",  # unique local
    "fe80::1",  # link-local
    "ff02::1",  # multicast
    "100::1",  # discard
]
ALLOWED = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]


@pytest.mark.parametrize("address", REFUSED)
def test_the_ssrf_guard_refuses_every_way_back_inside(address):
    with pytest.raises(netsafety.UnsafeURL):
        netsafety.check_addresses("host", [ipaddress.ip_address(address)])


@pytest.mark.parametrize("address", ALLOWED)
def test_the_ssrf_guard_lets_public_addresses_through(address):
    netsafety.check_addresses("host", [ipaddress.ip_address(address)])


@pytest.mark.parametrize(
    "url",
    [
        "https://[::127.0.0.1]:8443/EWS/Exchange.asmx",
        "https://[::ffff:7f00:1]/EWS/Exchange.asmx",
        "https://[64:ff9b::7f00:1]/EWS/Exchange.asmx",
        "https://127.1/EWS/Exchange.asmx",
        "https://0x7f000001/EWS/Exchange.asmx",
    ],
)
def test_user_supplied_urls_with_literal_inside_addresses_are_refused(url):
    # Literal addresses resolve without a packet leaving the machine.
    with pytest.raises(netsafety.UnsafeURL):
        netsafety.check_public_url(url, allow_private=False)


# --- Push notifications -----------------------------------------------------------------------


@pytest.fixture
def watched(make_user):
    user = make_user("pushed@acme.example")
    connection = CalendarConnection.objects.create(
        user=user, provider="google", account_email="pushed@acme.example", credentials_json="{}"
    )
    return Calendar.objects.create(
        connection=connection,
        remote_id="primary",
        name="Main",
        access="owner",
        channel_id="chan-42",
        channel_token_hash=push.token_digest(CHANNEL_TOKEN),
        channel_expires_at=datetime.now(UTC) + timedelta(days=1),
    )


def test_a_push_needs_the_channels_secret(client, watched):
    headers = {"HTTP_X_GOOG_CHANNEL_ID": "chan-42", "HTTP_X_GOOG_RESOURCE_STATE": "exists"}
    wrong = client.post("/webhooks/calendar/google/", HTTP_X_GOOG_CHANNEL_TOKEN="guess", **headers)
    assert wrong.status_code == 404
    hashed = client.post(
        "/webhooks/calendar/google/",
        HTTP_X_GOOG_CHANNEL_TOKEN=watched.channel_token_hash,  # a leaked hash is no good
        **headers,
    )
    assert hashed.status_code == 404
    right = client.post(
        "/webhooks/calendar/google/", HTTP_X_GOOG_CHANNEL_TOKEN=CHANNEL_TOKEN, **headers
    )
    assert right.status_code == 200
    assert CalendarConnection.objects.get(pk=watched.connection_id).sync_requested_at


def test_a_push_secret_survives_a_secret_key_rotation(client, watched, settings):
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-brand-new-secret-key-" + "y" * 40
    response = client.post(
        "/webhooks/calendar/google/",
        HTTP_X_GOOG_CHANNEL_ID="chan-42",
        HTTP_X_GOOG_CHANNEL_TOKEN=CHANNEL_TOKEN,
        HTTP_X_GOOG_RESOURCE_STATE="exists",
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        '{"value": [{"subscriptionId": "chan\\u0000", "clientState": "x"}]}',
        '{"value": [{"subscriptionId": "\\ud800", "clientState": "x"}]}',
        '{"value": [{"subscriptionId": "chan-42", "clientState": "\\udfff"}]}',
        '{"value": ' + "[" * 5000 + "]" * 5000 + "}",
        "[" * 100_000 + "]" * 100_000,
        '{"value": 12}',
        "not json",
    ],
)
def test_malformed_graph_notifications_are_a_400_or_ignored(client, watched, body):
    response = client.post("/webhooks/calendar/microsoft/", body, content_type="application/json")
    assert response.status_code in (202, 400, 413)
    assert not CalendarConnection.objects.get(pk=watched.connection_id).sync_requested_at


def test_a_google_push_with_a_nul_in_its_channel_id_is_unknown(client, watched):
    response = client.post(
        "/webhooks/calendar/google/",
        HTTP_X_GOOG_CHANNEL_ID="chan-42\x00",
        HTTP_X_GOOG_CHANNEL_TOKEN=CHANNEL_TOKEN,
        HTTP_X_GOOG_RESOURCE_STATE="exists",
    )
    assert response.status_code == 404
