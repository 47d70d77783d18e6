"""Outbound-URL safety for addresses users type in (an Exchange server URL).

A user-supplied URL must not let the app reach into its own network (server-side request
forgery): it must be https and every address its host name resolves to must be public, unless
private URLs are explicitly allowed (the sandbox on loopback, a test setup).

Checking the name once and connecting later would let a hostile DNS server answer a public
address to the check and a private one to the connection (DNS rebinding). `GuardedAdapter`
closes that gap for `requests`: it resolves the host itself when opening each connection,
checks every address, and connects to a checked address; TLS still verifies the certificate
against the host name. What remains: a proxy configured in the environment (HTTPS_PROXY)
bypasses the guard (requests opens proxied connections through its own pool manager), so
egress through a proxy is the proxy's policy; and the guard covers the sessions it is mounted
on, nothing else in the process.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests.adapters
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import connection as urllib3_connection

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(ValueError):
    """The URL is not allowed: wrong scheme, or it points at a non-public address."""


class UnresolvableHost(ValueError):
    """The URL's host name does not resolve (a typo, or DNS is down): nothing was checked."""


# An allow-list: an address is public only when it is globally routable unicast by the IANA
# special-purpose registries (https://www.iana.org/assignments/iana-ipv4-special-registry,
# https://www.iana.org/assignments/iana-ipv6-special-registry) *and* outside every block
# below. `ipaddress.is_global` alone lets through forms that embed or tunnel to an IPv4
# address (`::a.b.c.d`, NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo 2001::/32) and
# deprecated site-local addresses: a user could reach 127.0.0.1 through them.
IPV4_REFUSED = [
    ipaddress.ip_network(block)
    for block in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local (cloud metadata services live here)
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.31.196.0/24",  # AS112-v4
        "192.52.193.0/24",  # AMT
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",  # private
        "192.175.48.0/24",  # direct delegation AS112
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the limited broadcast address
    )
]
IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
IPV6_REFUSED = [
    ipaddress.ip_network(block)
    for block in (
        "2001::/23",  # IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID...
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: tunnels to an embedded IPv4 address
        "3fff::/20",  # documentation
    )
]
# Outside 2000::/3 and so refused as well: ::/128, ::1, IPv4-compatible ::/96, IPv4-mapped
# ::ffff:0:0/96, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, discard 100::/64, ULA fc00::/7,
# link-local fe80::/10, site-local fec0::/10, multicast ff00::/8.


def _is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv4Address):
        refused = any(address in block for block in IPV4_REFUSED)
    else:
        refused = address not in IPV6_GLOBAL_UNICAST or any(
            address in block for block in IPV6_REFUSED
        )
    return not refused and address.is_global


def resolve(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHost(f"The host name {host!r} could not be resolved.") from exc
    # Drop an IPv6 zone index ("fe80::1%eth0") before parsing.
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def check_addresses(host: str, addresses: list[Address]) -> None:
    for address in addresses:
        if not _is_public(address):
            raise UnsafeURL(
                f"{host} resolves to {address}, which is a private, loopback, link-local or "
                "reserved address. Use the server's public address."
            )


def check_public_url(url: str, allow_private: bool) -> list[Address]:
    """Check a user-supplied URL before anything connects to it; returns the checked addresses.

    Raises UnsafeURL (a ValueError) with a message for the user, or UnresolvableHost.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURL(f"Not a valid URL: {exc}.") from exc
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise UnsafeURL("The URL must start with https://.")
    if not parts.hostname:
        raise UnsafeURL("The URL has no host name.")
    if parts.username or parts.password:
        raise UnsafeURL("The URL must not contain a user name or password.")
    addresses = resolve(parts.hostname, port)
    if not allow_private:
        check_addresses(parts.hostname, addresses)
    return addresses


# --- enforcing the check at connect time ---------------------------------------------------


class _GuardedConnectionMixin:
    """Opens the socket to a just-checked address of the host (see the module docstring)."""

    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        host = getattr(self, "_dns_host", self.host)  # urllib3 strips a trailing dot there
        addresses = resolve(host, self.port)
        check_addresses(host, addresses)
        error: OSError | None = None
        for address in addresses:
            try:
                return urllib3_connection.create_connection(
                    (str(address), self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:
                error = exc
        raise error or OSError(f"no address to connect to for {self.host}")


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(requests.adapters.HTTPAdapter):
    """A requests adapter whose connections only ever reach public addresses."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        # A copy: the module-level mapping is shared by every other pool manager.
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }
