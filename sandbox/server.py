"""The sandbox's HTTP(S) servers, route registry and push-notification sender.

Each provider module exposes `register(site)` and adds its routes with `Site.route` (plain
endpoints such as OAuth pages) or `Site.api_route` (authenticated API calls, which pass
through the provider's `Gate`: authentication, then injected faults, then the view).
The same WSGI app is served on a plain-http port and on an https port whose certificate
comes from a throw-away CA, because MSAL refuses an http authority.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import ipaddress
import json
import logging
import os
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from sandbox import invitations
from sandbox.push import Notifier
from sandbox.state import Fault, Mailbox, SandboxError, Settings, State

log = logging.getLogger("sandbox")

# Provider modules loaded into every site, each with a `register(site)` function.
MODULES = ("sandbox.control", "sandbox.google", "sandbox.microsoft", "sandbox.exchange")


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(json.dumps(payload), status, headers, content_type="application/json")


class Gate(Protocol):
    """How a provider authenticates API calls and renders faults and state errors."""

    provider: str

    def authenticate(self, request: Request) -> Mailbox:
        """The calling mailbox; raise werkzeug's HTTPException with the provider's 401."""

    def fault_response(self, fault: Fault) -> Response:
        """The response for an injected rate_limit or server_error fault."""

    def error_response(self, error: SandboxError) -> Response:
        """The provider's rendering of a state error (not found, conflict, gone...)."""


class Site:
    """The WSGI application: a URL map filled by the provider modules."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.url_map = Map(strict_slashes=False, merge_slashes=False)
        self.views: dict[str, Callable[..., Response]] = {}
        self.notifier = Notifier(state)
        # Invitations reach attendee mailboxes after every API write (control-API writes
        # deliver them themselves).
        state.on_write(
            lambda provider, event, invited: invitations.deliver(
                state, event, invitations.recipients_of(state, event, invited, provider)
            )
        )
        self.default_scopes: dict[str, list[str]] = {}
        for module in MODULES:
            importlib.import_module(module).register(self)

    def route(self, path: str, methods: list[str], view: Callable[..., Response]) -> None:
        """Add a plain endpoint; `view(request, **url_args)` runs under the state lock."""

        def locked_view(request: Request, **args: Any) -> Response:
            with self.state.lock:
                return view(request, **args)

        self._add(path, methods, locked_view)

    def api_route(
        self,
        path: str,
        methods: list[str],
        gate: Gate,
        view: Callable[..., Response],
        locked: bool = True,
    ) -> None:
        """Add an API endpoint; `view(request, mailbox, **url_args)` runs under the state lock
        after the gate authenticated the caller and no injected fault answered instead.
        With `locked=False` the view takes the lock itself, around its state work only: for a
        view that waits on a client's server (Graph's subscription handshake)."""

        def gated_view(request: Request, **args: Any) -> Response:
            with self.state.lock:
                mailbox = gate.authenticate(request)
                fault = self.state.take_fault(gate.provider, mailbox.email)
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)  # outside the lock: other requests go on meanwhile
            elif fault is not None:
                return gate.fault_response(fault)
            with self.state.lock if locked else contextlib.nullcontext():
                try:
                    return view(request, mailbox, **args)
                except SandboxError as error:
                    return gate.error_response(error)

        self._add(path, methods, gated_view)

    def _add(self, path: str, methods: list[str], view: Callable[..., Response]) -> None:
        endpoint = f"{len(self.views)}:{path}"
        self.url_map.add(Rule(path, methods=methods, endpoint=endpoint))
        self.views[endpoint] = view

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
            response = self.views[endpoint](request, **args)
        except HTTPException as exc:
            response = exc.get_response(environ)
        except SandboxError as error:
            response = json_response({"error": str(error)}, error.status)
        return response(environ, start_response)


# --- TLS -------------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_pem(path: Path, *items: x509.Certificate | ec.EllipticCurvePrivateKey) -> None:
    chunks = [
        item.public_bytes(serialization.Encoding.PEM)
        if isinstance(item, x509.Certificate)
        else item.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        for item in items
    ]
    path.write_bytes(b"".join(chunks))


def _sign(
    subject: str,
    issuer: str,
    public_key: Any,
    signer: ec.EllipticCurvePrivateKey,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=366))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical)
    return builder.sign(signer, hashes.SHA256())


def make_certificates(directory: Path, hosts: list[str]) -> tuple[Path, Path]:
    """Create a fresh CA and a server certificate for `hosts`; returns (CA file, server PEM).

    The CA key is thrown away: nothing but this server's certificate is ever signed by it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = _sign(
        "Provider sandbox CA",
        "Provider sandbox CA",
        ca_key.public_key(),
        ca_key,
        [
            (x509.BasicConstraints(ca=True, path_length=0), True),
            (x509.KeyUsage(False, False, False, False, False, True, True, False, False), True),
            (ca_ski, False),
        ],
    )
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(["localhost", "127.0.0.1", "::1", *hosts]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    server = _sign(
        "localhost",
        "Provider sandbox CA",
        key.public_key(),
        ca_key,
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (x509.SubjectAlternativeName(names), False),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
            (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
            (x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False),
        ],
    )
    ca_file, server_file = directory / "sandbox-ca.pem", directory / "sandbox-server.pem"
    _write_pem(ca_file, ca)
    _write_pem(server_file, server, key)
    os.chmod(server_file, 0o600)
    return ca_file, server_file


# --- running ---------------------------------------------------------------------------------


class StateFile:
    """Keeps the state in a JSON file: loaded at start, rewritten after each change."""

    def __init__(self, path: Path, state: State) -> None:
        self.path, self.state = path, state
        # Request threads save concurrently: one at a time, so the newest dump lands last.
        self._saving = threading.Lock()
        if path.exists() and path.stat().st_size:
            state.load(json.loads(path.read_text()))

    def save(self) -> None:
        # Write then rename, so a crash never leaves half a file behind. The temporary file's
        # name is unique: two saves sharing one name made the second rename fail (a 500 for a
        # change that had been applied).
        with self._saving:
            text = json.dumps(self.state.dump(), indent=1)
            handle, temporary = tempfile.mkstemp(
                dir=self.path.parent, prefix=self.path.name + ".", suffix=".tmp"
            )
            try:
                with os.fdopen(handle, "w") as file:
                    file.write(text)
                os.replace(temporary, self.path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise

    def wrap(self, app: Callable) -> Callable:
        def saving_app(environ: dict, start_response: Callable) -> Any:
            body = app(environ, start_response)
            if environ["REQUEST_METHOD"] not in ("GET", "HEAD", "OPTIONS"):
                self.save()
            return body

        return saving_app


@dataclass
class Running:
    """A started sandbox; `stop()` shuts both servers and the push thread down."""

    http_url: str
    https_url: str
    ca_file: Path
    state: State
    site: Site
    servers: list[BaseWSGIServer] = field(default_factory=list)
    state_file: StateFile | None = None

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
        self.site.notifier.stop()
        if self.state_file is not None:
            self.state_file.save()


def _url(scheme: str, server: BaseWSGIServer) -> str:
    host = server.host if ":" not in server.host else f"[{server.host}]"
    return f"{scheme}://{host}:{server.server_port}"


def start(
    host: str = "127.0.0.1",
    http_port: int = 8001,
    https_port: int = 8443,
    ca_dir: Path = Path("var/sandbox"),
    state_path: Path | None = None,
    state: State | None = None,
    settings: Settings | None = None,
    cert_hosts: tuple[str, ...] = (),
) -> Running:
    """Start both servers on background threads (port 0 picks a free port); `settings` are
    the sandbox's own start options (see sandbox.state.Settings); the https certificate
    names `host` and `cert_hosts` (e.g. a container's service name)."""
    state = state or State(settings)
    state_file = StateFile(state_path, state) if state_path else None
    site = Site(state)
    app = state_file.wrap(site) if state_file else site
    ca_file, server_pem = make_certificates(ca_dir, [host, *cert_hosts])
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(server_pem)
    servers = [
        make_server(host, http_port, app, threaded=True),
        make_server(host, https_port, app, threaded=True, ssl_context=tls),
    ]
    for server in servers:
        # A short poll interval keeps stop() quick; the servers are idle-cheap either way.
        threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sandbox-http",
            daemon=True,
        ).start()
    return Running(
        _url("http", servers[0]),
        _url("https", servers[1]),
        ca_file,
        state,
        site,
        servers,
        state_file,
    )
