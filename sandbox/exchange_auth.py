"""How EWS clients sign in: HTTP Basic and NTLM, as IIS offers them for /EWS, and Exchange
Online's refusal of both.

Each Exchange mailbox says which methods its server offers (`auth_methods`, default
["Basic"]; most on-premises servers offer Windows authentication, i.e. NTLM, only) and whether
it lives in Exchange Online (`online`). A 401 lists the offered methods in
`WWW-Authenticate` headers, which is what exchangelib's auth-type guessing reads. Which
mailbox an anonymous request is for: the one named in `X-AnchorMailbox` (the routing header
Exchange honours); without it, the methods of every Exchange mailbox of the sandbox together
(one server serving them all), NTLM listed first as IIS lists Windows authentication first.

NTLM is verified with pyspnego's acceptor (NTLMv2, like a server with LmCompatibilityLevel 5;
no Extended Protection channel binding). HTTP NTLM is a three-message handshake that real IIS
keeps on one kept-alive connection; the sandbox's server closes every connection, so the
pending handshake is found again by the MsvAvTimestamp of its CHALLENGE, which the client
echoes in its AUTHENTICATE message (MS-NLMP 2.2.2.1, 3.1.5.1.2). pyspnego's acceptor reads
credentials from the file named by NTLM_USER_FILE; the sandbox writes the signing-in
mailbox's line there just before checking (under one process-wide lock).

Exchange Online turned Basic authentication off for EWS: a request with a user name and
password answers HTTP 401 (https://learn.microsoft.com/en-us/exchange/clients-and-mobile-in-
exchange-online/deprecation-of-basic-authentication-exchange-online); it offers OAuth (Bearer),
which the sandbox does not emulate for EWS.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import struct
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import spnego
from spnego.exceptions import SpnegoError

from sandbox.state import Mailbox, State

PROVIDER = "exchange"
METHODS = ("NTLM", "Basic")
DEFAULT_METHODS = ["Basic"]
HANDSHAKE_LIFETIME = 120.0  # seconds a CHALLENGE waits for its AUTHENTICATE
ONLINE_CHALLENGES = [
    'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", '
    'trusted_issuers="00000001-0000-0000-c000-000000000000@*", '
    'token_types="app_asserted_user_v1 service_asserted_app_v1", '
    'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"',
    'Basic Realm=""',
]
AV_TIMESTAMP = 7  # MsvAvTimestamp
NEGOTIATE_UNICODE = 0x00000001

_credentials_lock = threading.Lock()  # NTLM_USER_FILE is process-wide
_credentials_file = Path(tempfile.mkdtemp(prefix="sandbox-ntlm-")) / "users"


def methods_of(mailbox: Mailbox) -> list[str]:
    return list(mailbox.extra.get("ews_auth") or DEFAULT_METHODS)


def is_online(mailbox: Mailbox) -> bool:
    return bool(mailbox.extra.get("ews_online"))


def mailbox_named(state: State, username: str, domain: str = "") -> Mailbox | None:
    """The Exchange mailbox a sign-in names: `DOMAIN\\user`, `user`, or `user@domain`."""
    name = username.rpartition("\\")[2].lower()
    for mailbox in state.data.mailboxes.values():
        if mailbox.provider == PROVIDER and name in (
            mailbox.email,
            mailbox.email.partition("@")[0],
        ):
            return mailbox
    return None


def challenges(state: State, mailbox: Mailbox | None, host: str) -> list[str]:
    """The WWW-Authenticate values a 401 carries for `mailbox` (None: anonymous)."""
    mailboxes = (
        [mailbox]
        if mailbox
        else [m for m in state.data.mailboxes.values() if m.provider == PROVIDER]
    )
    if mailboxes and all(is_online(m) for m in mailboxes):
        return list(ONLINE_CHALLENGES)
    offered = {method for m in mailboxes if not is_online(m) for method in methods_of(m)}
    offered = offered or set(DEFAULT_METHODS)
    realm = host.partition(":")[0]
    return [
        "NTLM" if method == "NTLM" else f'Basic realm="{realm}"'
        for method in METHODS
        if method in offered
    ]


def allows(mailbox: Mailbox, method: str) -> bool:
    return not is_online(mailbox) and method in methods_of(mailbox)


def basic_ok(mailbox: Mailbox, password: str) -> bool:
    return allows(mailbox, "Basic") and secrets.compare_digest(
        password.encode(), mailbox.password.encode()
    )


# --- NTLM ----------------------------------------------------------------------------------


@dataclass
class _Pending:
    context: spnego.ContextProxy
    created: float


class NtlmAcceptor:
    """Pending NTLM handshakes of one sandbox, found again by their challenge's timestamp."""

    def __init__(self) -> None:
        self._pending: dict[bytes, _Pending] = {}
        self._lock = threading.Lock()

    def challenge(self, negotiate: bytes) -> bytes | None:
        """The CHALLENGE message answering a NEGOTIATE; None if the token is not one."""
        with _credentials_lock:
            _point_at_credentials()
            context = spnego.server(protocol="ntlm")
            try:
                answer = context.step(negotiate)
            except SpnegoError:
                return None
        key = _av_pair(_field(answer, 40), AV_TIMESTAMP) if answer else None
        if not key:
            return None
        with self._lock:
            self._forget_old()
            self._pending[key] = _Pending(context, time.monotonic())
        return answer

    def verify(self, state: State, authenticate: bytes) -> Mailbox | None:
        """The mailbox an AUTHENTICATE message proves, or None."""
        try:
            user, domain, response = _identity(authenticate)
        except (ValueError, struct.error):
            return None
        key = _av_pair(response[44:], AV_TIMESTAMP) if len(response) > 44 else None
        with self._lock:
            pending = self._pending.pop(key, None) if key else None
        mailbox = mailbox_named(state, user, domain)
        if pending is None or mailbox is None or not allows(mailbox, "NTLM"):
            return None
        if ":" in mailbox.password + user + domain:
            return None  # the credential file's format cannot hold it
        with _credentials_lock:
            _write_credentials(domain, user, mailbox.password)
            try:
                pending.context.step(authenticate)
            except SpnegoError:
                return None
        return mailbox if pending.context.complete else None

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - HANDSHAKE_LIFETIME
        for key in [k for k, p in self._pending.items() if p.created < cutoff]:
            del self._pending[key]


def message_type(token: bytes) -> int:
    if len(token) < 12 or not token.startswith(b"NTLMSSP\x00"):
        return 0
    return struct.unpack_from("<I", token, 8)[0]


def decode_token(value: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return b""


def _field(message: bytes, offset: int) -> bytes:
    """A (length, max length, offset) payload field of an NTLM message."""
    length, _, start = struct.unpack_from("<HHI", message, offset)
    return message[start : start + length]


def _av_pair(pairs: bytes, wanted: int) -> bytes | None:
    position = 0
    while position + 4 <= len(pairs):
        av_id, length = struct.unpack_from("<HH", pairs, position)
        if av_id == 0:
            return None
        if av_id == wanted:
            return pairs[position + 4 : position + 4 + length]
        position += 4 + length
    return None


def _identity(authenticate: bytes) -> tuple[str, str, bytes]:
    """User name, domain and NT response of an AUTHENTICATE message (MS-NLMP 2.2.1.3)."""
    if message_type(authenticate) != 3:
        raise ValueError("not an AUTHENTICATE message")
    flags = struct.unpack_from("<I", authenticate, 60)[0]
    encoding = "utf-16-le" if flags & NEGOTIATE_UNICODE else "cp437"
    domain = _field(authenticate, 28).decode(encoding)
    user = _field(authenticate, 36).decode(encoding)
    return user, domain, _field(authenticate, 20)


def _point_at_credentials() -> None:
    os.environ["NTLM_USER_FILE"] = str(_credentials_file)
    if not _credentials_file.exists():
        _credentials_file.write_text("")
        _credentials_file.chmod(0o600)


def _write_credentials(domain: str, user: str, password: str) -> None:
    """The one line pyspnego's acceptor will look the user up in (Heimdal format)."""
    _point_at_credentials()
    _credentials_file.write_text(f"{domain}:{user}:{password}\n")
