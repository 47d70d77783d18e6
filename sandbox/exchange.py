"""Exchange emulation: Exchange Web Services (SOAP 1.1) at POST /EWS/Exchange.asmx.

Clients sign in with HTTP Basic or NTLM (the mailbox address, or its local part, and the
mailbox password), as the mailbox's server offers them (`exchange_auth`); anything else gets
IIS's 401 listing the offered methods in `WWW-Authenticate`, which is how exchangelib's
unauthenticated probe picks its method. Every answer carries a
`ServerVersionInfo` header: Exchange 2016 (15.1.2507.6) unless the mailbox was set to emulate
another build through `PATCH /_sandbox/exchange/mailboxes/<email>` {"server_version": "14.1"}.
Requests naming a newer RequestServerVersion than the build supports are refused with
ErrorInvalidServerVersion, as Exchange does, so clients step down.

Operations: ConvertId (the version probe), GetFolder, FindFolder, CreateFolder and
DeleteFolder (calendars only), FindItem (CalendarView expands recurring series), GetItem,
CreateItem, UpdateItem, DeleteItem, SyncFolderItems, GetServerTimeZones and
GetUserAvailability. Only calendars are emulated: other well-known folders answer
ErrorFolderNotFound.

Faults: rate_limit is a SOAP fault ErrorServerBusy with BackOffMilliseconds (HTTP 500, as
Exchange sends it); server_error is IIS's HTML error page (500, or the fault's status such as
503); revoke_grant changes the mailbox password (401 from then on); lose_calendar_access makes
that folder ErrorAccessDenied; expire_sync_tokens makes SyncState ErrorInvalidSyncStateData.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import NoReturn
from zoneinfo import ZoneInfo

from werkzeug.exceptions import abort
from werkzeug.wrappers import Request, Response

from sandbox import exchange_auth
from sandbox.exchange_access import Call
from sandbox.exchange_auth import NtlmAcceptor
from sandbox.exchange_availability import get_server_time_zones, get_user_availability
from sandbox.exchange_folders import create_folder, delete_folder, find_folder, get_folder
from sandbox.exchange_items import find_item, get_item
from sandbox.exchange_sync import sync_folder_items
from sandbox.exchange_writes import create_item, delete_item, update_item
from sandbox.exchange_xml import (
    Build,
    Element,
    EwsError,
    envelope,
    failure,
    find,
    find_all,
    local,
    parse,
    responses,
    soap_fault,
    zone_named,
)
from sandbox.server import Site, json_response
from sandbox.state import (
    Conflict,
    Fault,
    Gone,
    Invalid,
    Mailbox,
    NotFound,
    SandboxError,
    State,
)

PROVIDER = "exchange"
EWS_PATHS = ("/EWS/Exchange.asmx", "/ews/exchange.asmx")  # IIS paths are case-insensitive
DEFAULT_BUILD = Build(15, 1, 2507, 6)
# RequestServerVersion values, oldest first.
API_VERSIONS = (
    "Exchange2007",
    "Exchange2007_SP1",
    "Exchange2010",
    "Exchange2010_SP1",
    "Exchange2010_SP2",
    "Exchange2013",
    "Exchange2013_SP1",
    "Exchange2015",
    "Exchange2015_SP1",
    "Exchange2016",
)
SOAP_XML = "text/xml; charset=utf-8"
# werkzeug's server ends every answer with a bare `Connection: close`, which exchangelib reads
# as "server busy" on any non-200 answer (IIS never closes on a 401 or a SOAP fault). Sending
# our own header as well makes the value `close, close`: clients still close the connection,
# and exchangelib judges the answer by its status and body as it does with IIS.
ERROR_HEADERS = {"Connection": "close"}
UNAUTHORIZED_PAGE = """<!DOCTYPE html>
<html><head><title>401 - Unauthorized: Access is denied due to invalid credentials.</title>
</head><body><h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2>
<h3>You do not have permission to view this directory or page using the credentials that you
supplied.</h3></body></html>"""
SERVER_ERROR_PAGE = """<!DOCTYPE html>
<html><head><title>Runtime Error</title></head><body>
<h1>Server Error in '/EWS' Application.</h1><h2><i>Runtime Error</i></h2></body></html>"""
UNAVAILABLE_PAGE = """<!DOCTYPE html>
<html><head><title>Service Unavailable</title></head><body>
<h2>Service Unavailable</h2><hr><p>HTTP Error 503. The service is unavailable.</p>
</body></html>"""

Operation = Callable[[Call, Element], Element]
OPERATIONS: dict[str, Operation] = {
    "GetFolder": get_folder,
    "FindFolder": find_folder,
    "CreateFolder": create_folder,
    "DeleteFolder": delete_folder,
    "FindItem": find_item,
    "GetItem": get_item,
    "CreateItem": create_item,
    "UpdateItem": update_item,
    "DeleteItem": delete_item,
    "SyncFolderItems": sync_folder_items,
    "GetServerTimeZones": get_server_time_zones,
    "GetUserAvailabilityRequest": get_user_availability,
}


def register(site: Site) -> None:
    gate = Gate(site.state)
    for path in EWS_PATHS:
        site.api_route(
            path, ["POST"], gate, lambda request, mailbox: ews(site.state, request, mailbox)
        )
    site.route(
        "/_sandbox/exchange/mailboxes/<email>",
        ["PATCH"],
        lambda request, email: configure(site.state, request, email),
    )


# --- authentication and faults -----------------------------------------------------------


def _html(page: str, status: int, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(
        page, status, [*ERROR_HEADERS.items(), *(headers or [])], content_type="text/html"
    )


def _soap_error(body: bytes) -> Response:
    return Response(body, 500, ERROR_HEADERS, content_type=SOAP_XML)


class Gate:
    """Sign-in as the mailbox's server offers it (Basic and/or NTLM; see exchange_auth), and
    EWS's renderings of faults."""

    provider = PROVIDER

    def __init__(self, state: State) -> None:
        self.state = state
        self.ntlm = NtlmAcceptor()

    def authenticate(self, request: Request) -> Mailbox:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic" and request.authorization is not None:
            auth = request.authorization
            mailbox = exchange_auth.mailbox_named(self.state, auth.username or "")
            if mailbox is not None and exchange_auth.basic_ok(mailbox, auth.password or ""):
                return mailbox
            self._refuse(request, mailbox)
        if scheme.lower() in ("ntlm", "negotiate"):
            return self._ntlm(request, exchange_auth.decode_token(value))
        self._refuse(request, None)

    def _ntlm(self, request: Request, token: bytes) -> Mailbox:
        kind = exchange_auth.message_type(token)
        if kind == 1:
            challenge = self.ntlm.challenge(token)
            if challenge is not None:
                header = "NTLM " + base64.b64encode(challenge).decode()
                abort(_html(UNAUTHORIZED_PAGE, 401, [("WWW-Authenticate", header)]))
        elif kind == 3:
            mailbox = self.ntlm.verify(self.state, token)
            if mailbox is not None:
                return mailbox
        self._refuse(request, None)

    def _refuse(self, request: Request, mailbox: Mailbox | None) -> NoReturn:
        """IIS's 401, offering the methods the mailbox's server takes."""
        anchor = exchange_auth.mailbox_named(self.state, request.headers.get("X-AnchorMailbox", ""))
        offers = exchange_auth.challenges(self.state, mailbox or anchor, request.host)
        abort(_html(UNAUTHORIZED_PAGE, 401, [("WWW-Authenticate", offer) for offer in offers]))

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind == "rate_limit":
            body = soap_fault(
                "ErrorServerBusy",
                "The server cannot service this request right now. Try again later.",
                {"BackOffMilliseconds": str(int(fault.retry_after * 1000))},
            )
            return Response(body, fault.status or 500, ERROR_HEADERS, content_type=SOAP_XML)
        status = fault.status or 500
        return _html(UNAVAILABLE_PAGE if status == 503 else SERVER_ERROR_PAGE, status)

    def error_response(self, error: SandboxError) -> Response:
        codes = {
            NotFound: "ErrorItemNotFound",
            Gone: "ErrorItemNotFound",
            Conflict: "ErrorIrresolvableConflict",
            Invalid: "ErrorInvalidRequest",
        }
        code = next(
            (c for kind, c in codes.items() if isinstance(error, kind)), "ErrorInternalServerError"
        )
        return _soap_error(soap_fault(code, str(error)))


# --- versions ----------------------------------------------------------------------------


def build_of(mailbox: Mailbox) -> Build:
    value = mailbox.extra.get("ews_build")
    return Build.parse(value) if value else DEFAULT_BUILD


def api_version(build: Build) -> str:
    """The newest RequestServerVersion a build understands."""
    if build.major >= 15:
        if build.minor >= 1:
            return "Exchange2016"
        return "Exchange2013_SP1" if build.major_build >= 847 else "Exchange2013"
    if build.major == 14:
        return {0: "Exchange2010", 1: "Exchange2010_SP1"}.get(build.minor, "Exchange2010_SP2")
    return "Exchange2007_SP1" if build.minor >= 1 else "Exchange2007"


def _version_accepted(requested: str, build: Build) -> bool:
    if not requested:
        return True  # no header: Exchange assumes its oldest schema
    newest = API_VERSIONS.index(api_version(build))
    return requested in API_VERSIONS and API_VERSIONS.index(requested) <= newest


# --- dispatch ----------------------------------------------------------------------------


def _call(state: State, mailbox: Mailbox, header: Element | None) -> Call:
    context = find(header, "t:TimeZoneContext/t:TimeZoneDefinition")
    name = zone_named(context.get("Id", "UTC")) if context is not None else "UTC"
    return Call(state, mailbox, ZoneInfo(name))


def convert_id(call: Call, request: Element) -> Element:
    # The sandbox has only its own id format; clients send this as a version probe.
    error = EwsError("ErrorInvalidIdMalformed", "Id is malformed.")
    return responses(
        "ConvertId", [failure("ConvertId", error) for _ in find_all(request, "m:SourceIds/*")]
    )


def ews(state: State, request: Request, mailbox: Mailbox) -> Response:
    build = build_of(mailbox)
    try:
        root = parse(request.get_data())
    except EwsError as error:
        return _soap_error(soap_fault(error.code, error.text))
    header, body = find(root, "s:Header"), find(root, "s:Body")
    if body is None or not len(body):
        return _soap_error(soap_fault("ErrorSchemaValidation", "The request has no body."))
    operation = body[0]
    requested = find(header, "t:RequestServerVersion")
    if not _version_accepted(requested.get("Version", "") if requested is not None else "", build):
        return _soap_error(
            soap_fault("ErrorInvalidServerVersion", "The specified server version is invalid.")
        )
    name = local(operation)
    handler = convert_id if name == "ConvertId" else OPERATIONS.get(name)
    if handler is None:
        return _soap_error(
            soap_fault(
                "ErrorSchemaValidation", f"The operation {name} is not emulated by the sandbox."
            )
        )
    try:
        payload = handler(_call(state, mailbox, header), operation)
    except EwsError as error:  # the request as a whole is refused
        return _soap_error(soap_fault(error.code, error.text))
    except ValueError as problem:  # a malformed number or date where the schema wants one
        return _soap_error(
            soap_fault("ErrorSchemaValidation", f"The request failed schema validation: {problem}")
        )
    return Response(envelope(payload, build, api_version(build)), 200, content_type=SOAP_XML)


# --- control -----------------------------------------------------------------------------


def configure(state: State, request: Request, email: str) -> Response:
    """Set a mailbox's password (as a user changing it would), its emulated server build, the
    sign-in methods its server offers (`auth_methods`) or whether it is in Exchange Online."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("body must be a JSON object")
    mailbox = state.mailbox(email)
    if mailbox.provider != PROVIDER:
        raise Invalid(f"{mailbox.email} is not an Exchange mailbox")
    if "server_version" in body:
        try:
            mailbox.extra["ews_build"] = str(Build.parse(str(body["server_version"])))
        except ValueError:
            raise Invalid("server_version looks like 15.1.2507.6") from None
    if body.get("password"):
        mailbox.password = str(body["password"])
    if "auth_methods" in body:
        methods = body["auth_methods"]
        if not (
            isinstance(methods, list) and methods and set(methods) <= set(exchange_auth.METHODS)
        ):
            raise Invalid(f"auth_methods must list some of {', '.join(exchange_auth.METHODS)}")
        mailbox.extra["ews_auth"] = [m for m in exchange_auth.METHODS if m in methods]
    if "online" in body:
        mailbox.extra["ews_online"] = bool(body["online"])
    return json_response(
        {
            "email": mailbox.email,
            "password": mailbox.password,
            "server_version": str(build_of(mailbox)),
            "auth_methods": exchange_auth.methods_of(mailbox),
            "online": exchange_auth.is_online(mailbox),
        }
    )
