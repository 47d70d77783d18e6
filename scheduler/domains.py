"""Custom domains an admin connects alone: DNS records to create, verification, re-checks.

A domain is *owned* when the TXT record `_meetings-verify.<domain>` holds its token, and
*routed* when the domain is a CNAME of settings.CUSTOM_DOMAIN_TARGET (or, for an apex
domain, has the same A/AAAA addresses). Both make it verified; the Verify button and the
hourly beat task (`scheduler.tasks.recheck_domains`) run the same check with dnspython.

A verified domain whose records stop checking out is *failing*: it stays connected for
GRACE_PERIOD (a DNS change being propagated must not break every meeting link), the
account's admins are emailed once per failure episode, and after the grace period its pages
are no longer served there and links fall back to the app's own address.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import dns.exception
import dns.name
import dns.resolver
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from scheduler import mail
from scheduler.models import Account, Domain, User

logger = logging.getLogger(__name__)

VERIFY_LABEL = "_meetings-verify"


def grace_period() -> timedelta:
    return timedelta(hours=settings.CUSTOM_DOMAIN_GRACE_HOURS)


def routing_target() -> str:
    """Where custom domains must point: CUSTOM_DOMAIN_TARGET, else APP_BASE_URL's host."""
    target = settings.CUSTOM_DOMAIN_TARGET or urlsplit(settings.APP_BASE_URL).hostname or ""
    return target.strip().rstrip(".").lower()


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# --- What the admin creates -------------------------------------------------------------


@dataclass(frozen=True)
class DnsRecord:
    type: str
    name: str
    value: str
    purpose: str


def verification_name(domain: Domain) -> str:
    return f"{VERIFY_LABEL}.{domain.hostname}"


def expected_records(domain: Domain) -> list[DnsRecord]:
    target = routing_target()
    ownership = DnsRecord(
        "TXT", verification_name(domain), domain.verification_token, "Proves the domain is yours."
    )
    if _is_ip(target):
        kind = "AAAA" if ":" in target else "A"
        route = DnsRecord(kind, domain.hostname, target, "Sends visitors to this app.")
    else:
        route = DnsRecord("CNAME", domain.hostname, target, "Sends visitors to this app.")
    return [ownership, route]


# --- Looking the records up -------------------------------------------------------------


@dataclass
class CheckResult:
    problems: list[str] = field(default_factory=list)
    # The look-up itself failed (timeout, no answer from any nameserver): nothing is known
    # about the records, so the domain's state does not change.
    inconclusive: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and not self.inconclusive


class LookupFailed(Exception):
    pass


def _resolver() -> dns.resolver.Resolver:
    nameservers = settings.CUSTOM_DOMAIN_DNS_NAMESERVERS
    resolver = dns.resolver.Resolver(configure=not nameservers)
    if nameservers:
        resolver.nameservers = list(nameservers)
        resolver.port = settings.CUSTOM_DOMAIN_DNS_PORT
    resolver.timeout = resolver.lifetime = settings.CUSTOM_DOMAIN_DNS_TIMEOUT
    return resolver


def _lookup(resolver: dns.resolver.Resolver, name: str, rdtype: str) -> list:
    """The records of a type at a name; [] when there are none (or the name does not exist)."""
    try:
        answer = resolver.resolve(name, rdtype, search=False, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return []
    except (dns.exception.DNSException, OSError) as exc:
        raise LookupFailed(f"The DNS look-up of {name} ({rdtype}) failed: {exc}") from exc
    return list(answer.rrset or [])


def _txt_values(records) -> set[str]:
    return {b"".join(record.strings).decode("utf-8", "replace").strip() for record in records}


def _addresses(resolver, name: str) -> set[str]:
    found = set()
    for rdtype in ("A", "AAAA"):
        found |= {record.address for record in _lookup(resolver, name, rdtype)}
    return found


def _check_routing(resolver, hostname: str, target: str) -> str | None:
    cnames = _lookup(resolver, hostname, "CNAME")
    if cnames:
        points_to = cnames[0].target.to_text(omit_final_dot=True).lower()
        if points_to == target:
            return None
        return f"{hostname} has a CNAME record pointing to {points_to}, not {target}."
    expected = {target} if _is_ip(target) else _addresses(resolver, target)
    actual = _addresses(resolver, hostname)
    if actual and expected and actual <= expected:
        return None
    if not actual:
        return f"{hostname} has no CNAME record pointing to {target}."
    shown = ", ".join(sorted(actual))
    return f"{hostname} points to {shown}, which is not where {target} is reachable."


def check_records(domain: Domain) -> CheckResult:
    """Look up the domain's records in DNS (no caching: every check asks the nameservers)."""
    result = CheckResult()
    try:
        resolver = _resolver()
        txt = _txt_values(_lookup(resolver, verification_name(domain), "TXT"))
        if domain.verification_token not in txt:
            if txt:
                result.problems.append(
                    f"The TXT record {verification_name(domain)} does not hold the verification "
                    f"code {domain.verification_token}."
                )
            else:
                result.problems.append(f"No TXT record {verification_name(domain)} was found.")
        routing_problem = _check_routing(resolver, domain.hostname, routing_target())
        if routing_problem:
            result.problems.append(routing_problem)
    except (LookupFailed, dns.resolver.NoResolverConfiguration) as exc:
        result.problems, result.inconclusive = [str(exc) or "No DNS resolver is configured."], True
    return result


# --- State changes ----------------------------------------------------------------------


def add_domain(account: Account, hostname: str) -> Domain:
    """Connect a domain (pending until its records check out). `hostname` is already
    validated and in ASCII form (scheduler.forms.DomainForm)."""
    return Domain.objects.create(account=account, hostname=hostname)


def verify_domain(domain_id: int, now: datetime | None = None) -> Domain:
    """Check the domain's DNS records and move it between pending, verified and failing.

    The DNS look-up happens outside any transaction; the state change then takes the row
    lock, so the Verify button and the beat task cannot both email the admins.
    """
    result = check_records(Domain.objects.get(pk=domain_id))
    now = now or timezone.now()
    with transaction.atomic():
        domain = Domain.objects.select_for_update().get(pk=domain_id)
        apply_check(domain, result, now)
    return domain


def apply_check(domain: Domain, result: CheckResult, now: datetime) -> None:
    """Call inside a transaction, holding the domain's row lock."""
    domain.last_checked_at = now
    domain.problems = result.problems
    if result.inconclusive:
        pass
    elif result.ok:
        if domain.status != Domain.Status.VERIFIED:
            logger.info("domain verified", extra={"domain": domain.hostname})
            domain.verified_at = now
        domain.status, domain.verified = Domain.Status.VERIFIED, True
        domain.failing_since, domain.failure_notified = None, False
    elif domain.status == Domain.Status.VERIFIED:
        logger.warning("domain failing", extra={"domain": domain.hostname})
        domain.status, domain.failing_since = Domain.Status.FAILING, now
    if domain.status == Domain.Status.FAILING and not result.ok and not result.inconclusive:
        _fail(domain, now)
    domain.save()


def _fail(domain: Domain, now: datetime) -> None:
    if not domain.failure_notified:
        domain.failure_notified = True
        queue_failing_email(domain)
    if domain.verified and now - domain.failing_since >= grace_period():
        logger.warning("domain disconnected after grace period", extra={"domain": domain.hostname})
        domain.verified = False


def queue_failing_email(domain: Domain) -> None:
    """Tell the account's admins their verified domain's records stopped checking out (once
    per failure episode: `failure_notified`), through the mail outbox."""
    admins = domain.account.users.filter(role=User.Role.ADMIN, is_active=True)
    context = {
        "domain": domain,
        "served_until": served_until(domain),
        "settings_url": settings.APP_BASE_URL + reverse("settings:domains"),
    }
    for email in sorted(admins.values_list("email", flat=True)):
        mail.queue(
            email,
            f"{domain.display_name} stopped working for your scheduling pages",
            render_to_string("scheduler/email/domain_failing.txt", context),
            kind="domain.failing",
        )


def served_until(domain: Domain) -> datetime | None:
    """When a failing domain stops being served (None when it is not failing)."""
    if domain.status != Domain.Status.FAILING or domain.failing_since is None:
        return None
    return domain.failing_since + grace_period()


def set_robots(domain: Domain, *, hide_meetings: bool) -> Domain:
    domain.hide_meetings_from_search = hide_meetings
    domain.save(update_fields=["hide_meetings_from_search"])
    return domain


def remove_domain(domain: Domain) -> None:
    """Disconnect a domain. Meeting settings that chose it fall back to the app's address
    (the foreign key is SET_NULL); no page, booking or link target is deleted."""
    domain.delete()


def is_app_host(hostname: str) -> bool:
    """Whether a host name is the app's own (never connectable as a custom domain)."""
    hostname = hostname.lower().rstrip(".")
    own = {h.lower().lstrip(".") for h in settings.APP_HOSTS if h != "*"}
    own |= {routing_target(), (urlsplit(settings.APP_BASE_URL).hostname or "").lower()}
    return hostname in own or any(
        h.startswith(".") and hostname.endswith(h) for h in settings.APP_HOSTS
    )
