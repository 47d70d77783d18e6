"""Settings > Domains: an admin connects a custom domain alone.

Verification asks a real DNS server on loopback (dnslib, fixture `dns_zone`) through the
app's resolver (dnspython); nothing about DNS is mocked.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from meetings import urlrules
from meetings.models import MeetingSettings
from scheduler import domains
from scheduler.models import Domain, Tier, User
from scheduler.tasks import recheck_domains

HOST = "meet.acme.example"
TARGET = "app.meetings.test"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def pending(account):
    return domains.add_domain(account, HOST)


def publish(zone, domain, *, txt=True, cname=True):
    if txt:
        zone.set(f"_meetings-verify.{domain.hostname}", "TXT", domain.verification_token)
    if cname:
        zone.set(domain.hostname, "CNAME", TARGET)


def recheck(capture):
    """What beat does every hour, with the after-commit emails actually sent."""
    with capture(execute=True):
        recheck_domains.delay()


# --- Adding ---------------------------------------------------------------------------


def test_an_admin_adds_a_domain_and_sees_the_records_to_create(admin_client, settings, dns_zone):
    response = admin_client.post("/app/settings/domains/", {"hostname": "Meet.Acme.Example"})
    assert response.status_code == 302
    domain = Domain.objects.get()
    assert domain.hostname == HOST and domain.status == "pending" and not domain.verified
    page = admin_client.get(response["Location"]).content.decode()
    assert f"_meetings-verify.{HOST}" in page and domain.verification_token in page
    assert "CNAME" in page and TARGET in page
    assert "Pending verification" in page and ">Verify<" in page


def test_each_domain_gets_its_own_verification_token(account, make_account):
    first = domains.add_domain(account, "a.acme.example")
    second = domains.add_domain(make_account(), "b.other.example")
    assert len(first.verification_token) >= 32
    assert first.verification_token != second.verification_token


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("192.0.2.10", "not an IP address"),
        ("[2001:db8::1]", "not an IP address"),
        ("localhost", "such as meet.example.com"),
        ("meet..example.com", "such as meet.example.com"),
        ("-meet.example.com", "such as meet.example.com"),
        ("meet_x.example.com", "such as meet.example.com"),
        ("testserver.example" * 20, "at most 300 characters"),
        ("a" * 64 + ".example.com", "such as meet.example.com"),
        ("app.meetings.test", "own address; enter your own domain"),
        ("", "This field is required"),
    ],
)
def test_bad_domains_get_a_400_with_the_reason(admin_client, dns_zone, typed, error):
    response = admin_client.post("/app/settings/domains/", {"hostname": typed})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Domain.objects.exists()


def test_a_domain_another_account_connected_cannot_be_added(admin_client, make_account):
    domains.add_domain(make_account(), HOST)
    response = admin_client.post("/app/settings/domains/", {"hostname": f"https://{HOST}/x"})
    assert response.status_code == 400
    assert "already connected" in response.content.decode()


def test_an_international_domain_is_stored_in_ascii_and_shown_as_typed(admin_client):
    admin_client.post("/app/settings/domains/", {"hostname": "termine.bücher.example"})
    domain = Domain.objects.get()
    assert domain.hostname == "termine.xn--bcher-kva.example"
    page = admin_client.get("/app/settings/domains/").content.decode()
    assert "termine.bücher.example" in page
    assert "_meetings-verify.termine.xn--bcher-kva.example" in page


def test_members_and_free_accounts_cannot_add_domains(member_client, admin_user, client):
    assert member_client.post("/app/settings/domains/", {"hostname": HOST}).status_code == 403
    account = admin_user.account
    account.sales_tier = account.service_tier = Tier.FREE
    account.save()
    client.force_login(admin_user)
    page = client.get("/app/settings/domains/").content.decode()
    assert "Custom domains need a Starter plan" in page and "Add domain" not in page
    client.post("/app/settings/domains/", {"hostname": HOST})
    assert not Domain.objects.exists()


# --- Verifying ------------------------------------------------------------------------


def test_verify_says_what_is_missing_until_both_records_exist(admin_client, pending, dns_zone):
    url = f"/app/settings/domains/{pending.pk}/verify/"
    page = admin_client.post(url, follow=True).content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending" and not pending.verified
    assert f"No TXT record _meetings-verify.{HOST} was found." in page
    assert f"{HOST} has no CNAME record pointing to {TARGET}." in page

    dns_zone.set(f"_meetings-verify.{HOST}", "TXT", "someone-elses-token")
    dns_zone.set(HOST, "CNAME", "elsewhere.example")
    page = admin_client.post(url, follow=True).content.decode()
    assert "does not hold the verification code" in page
    assert f"pointing to elsewhere.example, not {TARGET}" in page

    publish(dns_zone, pending)
    page = admin_client.post(url, follow=True).content.decode()
    pending.refresh_from_db()
    assert pending.status == "verified" and pending.verified and pending.problems == []
    assert "is verified" in page
    # Only now is it offered as a meeting domain.
    calendar = admin_client.get("/app/settings/general/calendar/").content.decode()
    assert f">{HOST}<" in calendar


def test_an_apex_domain_may_use_the_targets_addresses(account, dns_zone):
    domain = domains.add_domain(account, "acme.example")
    dns_zone.set(TARGET, "A", "203.0.113.7")
    dns_zone.set("acme.example", "A", "203.0.113.8")
    publish(dns_zone, domain, cname=False)
    domain = domains.verify_domain(domain.pk)
    assert domain.status == "pending"
    assert "203.0.113.8, which is not where app.meetings.test is reachable" in domain.problems[0]
    dns_zone.set("acme.example", "A", "203.0.113.7")
    assert domains.verify_domain(domain.pk).status == "verified"


def test_an_ip_address_target_asks_for_an_a_record(account, dns_zone, settings):
    settings.CUSTOM_DOMAIN_TARGET = "198.51.100.4"
    domain = domains.add_domain(account, HOST)
    assert [(r.type, r.value) for r in domains.expected_records(domain)][1] == (
        "A",
        "198.51.100.4",
    )
    publish(dns_zone, domain, cname=False)
    dns_zone.set(HOST, "A", "198.51.100.4")
    assert domains.verify_domain(domain.pk).status == "verified"


def test_an_unanswered_lookup_changes_nothing(account, dns_zone, settings):
    domain = domains.add_domain(account, HOST)
    publish(dns_zone, domain)
    domains.verify_domain(domain.pk)
    settings.CUSTOM_DOMAIN_DNS_PORT = _closed_udp_port()
    settings.CUSTOM_DOMAIN_DNS_TIMEOUT = 0.5
    domain = domains.verify_domain(domain.pk)
    assert domain.status == "verified" and domain.verified and domain.failing_since is None
    assert "DNS look-up" in domain.problems[0]


def _closed_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Re-checking: failing, grace period, the email ------------------------------------


def test_a_domain_that_starts_failing_is_served_for_the_grace_period_and_admins_are_told_once(
    client, account, admin_user, make_user, offline_page, dns_zone, settings,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.APP_BASE_URL = "https://app.meetings.test"
    other_admin = make_user("second-admin@acme.example", account, role=User.Role.ADMIN)
    domain = domains.add_domain(account, HOST)
    publish(dns_zone, domain)
    MeetingSettings.objects.create(user=admin_user, url_prefix="ada", domain=domain)
    page_path = f"/meetings/{offline_page.slug}"
    with time_machine.travel(START, tick=False) as clock:
        recheck(django_capture_on_commit_callbacks)
        assert Domain.objects.get().status == "verified"
        assert client.get(page_path, HTTP_HOST=HOST).status_code == 200

        dns_zone.remove(HOST, "CNAME")  # someone tidied up their DNS zone
        clock.shift(timedelta(hours=1))
        recheck(django_capture_on_commit_callbacks)
        domain.refresh_from_db()
        assert domain.status == "failing" and domain.verified
        assert domain.failing_since == START + timedelta(hours=1)
        # One email to each admin (nobody sees the others' addresses).
        assert sorted(m.to[0] for m in mail.outbox) == sorted([admin_user.email, other_admin.email])
        alert = mail.outbox[0]
        assert HOST in alert.subject and "has no CNAME record" in alert.body
        assert "5 Mar 2026, 10:00" in alert.body  # served until failing_since + 72 h
        page = _domains_page(client, admin_user)
        assert "Failing since 2 Mar 2026, 10:00" in page and "until 5 Mar 2026, 10:00" in page

        # Still served, still in every link, and no second email, for 72 hours.
        for _ in range(71):
            clock.shift(timedelta(hours=1))
            recheck(django_capture_on_commit_callbacks)
        assert client.get(page_path, HTTP_HOST=HOST).status_code == 200
        assert urlrules.page_url(offline_page).startswith(f"https://{HOST}/")
        assert len(mail.outbox) == 2

        clock.shift(timedelta(hours=1))
        recheck(django_capture_on_commit_callbacks)
        domain.refresh_from_db()
        assert domain.status == "failing" and not domain.verified
        assert client.get(page_path, HTTP_HOST=HOST).status_code == 400
        assert client.get(page_path).status_code == 200  # the app's host still serves it
        assert urlrules.page_url(offline_page) == f"https://app.meetings.test{page_path}"
        assert "no longer served on this domain" in _domains_page(client, admin_user)
        assert len(mail.outbox) == 2

        # Fixed: connected again at the next check, and a later failure is a new episode.
        publish(dns_zone, domain)
        clock.shift(timedelta(hours=1))
        recheck(django_capture_on_commit_callbacks)
        domain.refresh_from_db()
        assert domain.status == "verified" and domain.verified and not domain.failure_notified
        assert client.get(page_path, HTTP_HOST=HOST).status_code == 200
        assert urlrules.page_url(offline_page).startswith(f"https://{HOST}/")

        dns_zone.remove(f"_meetings-verify.{HOST}", "TXT")
        clock.shift(timedelta(hours=1))
        recheck(django_capture_on_commit_callbacks)
        assert len(mail.outbox) == 4  # a new episode: each admin told again
        assert f"No TXT record _meetings-verify.{HOST}" in mail.outbox[-1].body


def _domains_page(client, user) -> str:
    client.force_login(user)
    return client.get("/app/settings/domains/").content.decode()


def test_the_hourly_recheck_is_scheduled_and_verifies_pending_domains(
    settings, pending, dns_zone, django_capture_on_commit_callbacks
):
    schedule = settings.CELERY_BEAT_SCHEDULE["recheck-custom-domains"]
    assert schedule["task"] == "scheduler.tasks.recheck_domains"
    assert schedule["schedule"] == 3600.0
    publish(dns_zone, pending)
    recheck(django_capture_on_commit_callbacks)
    pending.refresh_from_db()
    assert pending.status == "verified" and pending.last_checked_at is not None
    assert (f"_meetings-verify.{HOST}", "TXT") in dns_zone.queries


# --- robots.txt, removing, tenants ----------------------------------------------------


def test_the_admin_chooses_the_robots_txt_of_each_domain(admin_client, client, pending, dns_zone):
    publish(dns_zone, pending)
    domains.verify_domain(pending.pk)
    assert "Disallow: /meetings*" in client.get("/robots.txt", HTTP_HOST=HOST).content.decode()
    url = f"/app/settings/domains/{pending.pk}/robots/"
    assert admin_client.post(url, {f"d{pending.pk}-robots": "allow"}).status_code == 302
    assert "Disallow" not in client.get("/robots.txt", HTTP_HOST=HOST).content.decode()
    response = admin_client.post(url, {f"d{pending.pk}-robots": "sometimes"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    admin_client.post(url, {f"d{pending.pk}-robots": "hide"})
    assert "Disallow: /meetings*" in client.get("/robots.txt", HTTP_HOST=HOST).content.decode()


def test_removing_a_domain_keeps_pages_and_falls_back_to_the_app_host(
    admin_client, admin_user, offline_page, pending, dns_zone, client, settings
):
    settings.APP_BASE_URL = "https://app.meetings.test"
    publish(dns_zone, pending)
    domains.verify_domain(pending.pk)
    MeetingSettings.objects.create(user=admin_user, url_prefix="ada", domain=pending)
    response = admin_client.post(f"/app/settings/domains/{pending.pk}/delete/", follow=True)
    assert "now use the app" in response.content.decode()
    assert MeetingSettings.objects.get(user=admin_user).domain is None
    assert urlrules.page_url(offline_page).startswith("https://app.meetings.test/meetings/")
    assert client.get(f"/meetings/{offline_page.slug}").status_code == 200
    assert client.get(f"/meetings/{offline_page.slug}", HTTP_HOST=HOST).status_code == 400


def test_an_admin_sees_and_changes_only_their_own_accounts_domains(
    admin_client, make_account, dns_zone
):
    theirs = domains.add_domain(make_account(), "meet.other.example")
    assert "meet.other.example" not in admin_client.get("/app/settings/domains/").content.decode()
    for action in ("verify", "robots", "delete"):
        response = admin_client.post(f"/app/settings/domains/{theirs.pk}/{action}/")
        assert response.status_code == 404
    assert Domain.objects.filter(pk=theirs.pk).exists()
    assert admin_client.get(f"/app/settings/domains/{theirs.pk}/verify/").status_code == 405


def test_forms_need_the_csrf_token(admin_user, pending):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(f"/app/settings/domains/{pending.pk}/verify/").status_code == 403
    assert client.post("/app/settings/domains/", {"hostname": "x.example"}).status_code == 403


# --- The TLS proxy's question ---------------------------------------------------------


def test_tls_ask_says_yes_only_for_connected_domains_and_the_app_host(
    client, account, pending, dns_zone
):
    def ask(name, **extra):
        return client.get("/tls/ask", {"domain": name}, **extra).status_code

    assert ask(HOST) == 404  # pending
    publish(dns_zone, pending)
    domains.verify_domain(pending.pk)
    assert ask(HOST) == 200
    assert ask(HOST.upper() + ".") == 200
    assert ask("localhost") == 200  # the app's own host (ALLOWED_HOSTS)
    assert ask("evil.example") == 404
    assert ask("") == 404
    assert client.get("/tls/ask").status_code == 404
    assert ask("x" * 300) == 404
    # Only the app's host answers it; a custom domain serves scheduling pages only.
    assert ask(HOST, HTTP_HOST=HOST) == 404
