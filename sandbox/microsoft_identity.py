"""Microsoft identity platform v2 emulation: OpenID discovery, the consent page and the token
endpoint, as MSAL uses them (see sandbox/microsoft.py for the paths)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.exceptions import abort
from werkzeug.wrappers import Request, Response

from sandbox import grants
from sandbox.server import Site, json_response
from sandbox.state import Grant, OAuthError, State, now

PROVIDER = "microsoft"
MULTI_TENANT = ("common", "organizations", "consumers")
AADSTS_CODE = re.compile(r"AADSTS(\d+):")
ID_NAMESPACE = uuid.UUID("5b0b6c0e-3f0d-4a53-9a3e-0c7f6f2d8a41")
AADSTS = {
    "invalid_grant": 70000,
    "invalid_client": 7000215,
    "invalid_request": 900144,
    "unsupported_grant_type": 70003,
}


# --- identities ------------------------------------------------------------------------------


def user_id(email: str) -> str:
    """The mailbox's object id (`oid`, Graph's user id): stable across restarts."""
    return str(uuid.uuid5(ID_NAMESPACE, "user:" + email.lower()))


def tenant_id(email: str) -> str:
    """One tenant per mail domain, as one organisation has."""
    return str(uuid.uuid5(ID_NAMESPACE, "tenant:" + email.rpartition("@")[2].lower()))


def display_name(email: str) -> str:
    return email.partition("@")[0].replace(".", " ").title()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64json(payload: dict[str, Any]) -> str:
    return _b64url(json.dumps(payload, separators=(",", ":")).encode())


def client_info(email: str) -> str:
    return _b64json({"uid": user_id(email), "utid": tenant_id(email)})


def id_token(issuer_host: str, email: str, client_id: str, nonce: str = "") -> str:
    """An unsigned (`alg: none`) ID token; MSAL reads its claims without checking a signature."""
    issued = int(now().timestamp())
    claims = {
        "aud": client_id,
        "iss": f"{issuer_host}/{tenant_id(email)}/v2.0",
        "iat": issued,
        "nbf": issued,
        "exp": issued + 3600,
        "name": display_name(email),
        "oid": user_id(email),
        "preferred_username": email,
        "tid": tenant_id(email),
        # Azure AD's `sub` is pairwise: one value per user and application.
        "sub": _b64url(hashlib.sha256(f"{client_id}:{email}".encode()).digest()),
        "ver": "2.0",
    }
    if nonce:
        claims["nonce"] = nonce
    return f"{_b64json({'typ': 'JWT', 'alg': 'none'})}.{_b64json(claims)}."


# --- identity platform -----------------------------------------------------------------------

AUTH_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "prompt",
    "response_mode",
    "client_info",
)

CONSENT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account (sandbox)</title>
</head><body>
<h1>Sandbox Microsoft sign-in</h1>
<p><strong>{client_id}</strong> wants to access your Microsoft 365 account.</p>
<form method="post">{hidden}
<label for="email">Account</label>
<select id="email" name="email">{options}</select>
<p>Permissions requested:</p><ul>{scopes}</ul>
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>"""


def _error_page(code: int, message: str) -> Response:
    body = (
        f"<!doctype html><title>Sign in</title><h1>Sorry, but we're having trouble signing "
        f"you in.</h1><p>AADSTS{code}: {html.escape(message)}</p>"
    )
    return Response(body, 400, content_type="text/html; charset=utf-8")


def _auth_request(params: Any) -> dict[str, str]:
    """The authorization request's parameters, or a 400 page naming what is wrong."""
    for name in ("client_id", "redirect_uri", "scope"):
        if not params.get(name):
            abort(
                _error_page(
                    900144, f"The request body must contain the following parameter: '{name}'."
                )
            )
    if params.get("response_type") != "code":
        abort(_error_page(700054, "response_type must be 'code'."))
    if params.get("response_mode", "query") not in ("query", "form_post"):
        abort(_error_page(900144, "response_mode must be query or form_post."))
    if params.get("code_challenge_method", "S256") not in ("S256", "plain"):
        abort(_error_page(501491, "Invalid code_challenge_method."))
    return {name: params.get(name, "") for name in AUTH_PARAMS}


FORM_POST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Working...</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="{action}">{fields}
<noscript><button type="submit">Continue</button></noscript></form></body></html>"""


def _answer(params: dict[str, str], reply: dict[str, str]) -> Response:
    """Send the authorization answer back the way the client asked for it."""
    if params["response_mode"] == "form_post":
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in reply.items()
        )
        page = FORM_POST_PAGE.format(action=html.escape(params["redirect_uri"]), fields=fields)
        return Response(page, content_type="text/html; charset=utf-8")
    return _redirect(params["redirect_uri"], reply)


def _redirect(uri: str, params: dict[str, str]) -> Response:
    parts = urlsplit(uri)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=query))})


def _openid_configuration(request: Request, tenant: str) -> Response:
    host = request.host_url.rstrip("/")
    base = f"{host}/{tenant}"
    issuer_tenant = "{tenantid}" if tenant.lower() in MULTI_TENANT else tenant
    return json_response(
        {
            "issuer": f"{host}/{issuer_tenant}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["none"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "tenant_region_scope": None,
            "cloud_instance_name": "sandbox",
        }
    )


def register_identity(site: Site) -> None:
    state = site.state
    base = "/<tenant>/oauth2/v2.0"

    def consent(request: Request, tenant: str) -> Response:
        params = _auth_request(request.args)
        hint = params["login_hint"].lower()
        options = "".join(
            f'<option value="{html.escape(m.email)}"{" selected" if m.email == hint else ""}>'
            f"{html.escape(m.email)}</option>"
            for m in state.data.mailboxes.values()
            if m.provider == PROVIDER
        )
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
            for name, value in params.items()
            if value
        )
        scopes = "".join(f"<li>{html.escape(s)}</li>" for s in params["scope"].split())
        page = CONSENT_PAGE.format(
            client_id=html.escape(params["client_id"]),
            hidden=hidden,
            options=options or "<option>(no Microsoft mailbox)</option>",
            scopes=scopes,
        )
        return Response(page, content_type="text/html; charset=utf-8")

    def decide(request: Request, tenant: str) -> Response:
        params = _auth_request(request.form)
        reply = {"state": params["state"]} if params["state"] else {}
        if request.form.get("decision") != "allow":
            return _answer(
                params,
                {
                    "error": "access_denied",
                    **reply,
                    "error_description": "AADSTS65004: User declined to consent to access the app.",
                },
            )
        mailbox = state.mailbox(request.form.get("email", ""))
        if mailbox.provider != PROVIDER:
            abort(_error_page(50034, f"{mailbox.email} is not a Microsoft account."))
        code = state.issue_code(
            PROVIDER,
            mailbox.email,
            params["client_id"],
            params["redirect_uri"],
            params["scope"].split(),
            params["code_challenge"],
            params["code_challenge_method"],
            params["nonce"],
        )
        return _answer(
            params,
            {
                "code": code.code,
                **reply,
                "client_info": client_info(mailbox.email),
                "session_state": str(uuid.uuid4()),
            },
        )

    site.route("/<tenant>/v2.0/.well-known/openid-configuration", ["GET"], _openid_configuration)
    site.route(base + "/authorize", ["GET"], consent)
    site.route(base + "/authorize", ["POST"], decide)
    site.route(base + "/token", ["POST"], lambda request, tenant: _token(state, request))


def _client_credentials(request: Request) -> tuple[str, str]:
    """Client id and secret from HTTP Basic or the form (MSAL posts them in the form)."""
    if request.authorization and request.authorization.type == "basic":
        return request.authorization.username or "", request.authorization.password or ""
    return request.form.get("client_id", ""), request.form.get("client_secret", "")


def _token_error(problem: OAuthError) -> Response:
    # The shared state names a mismatched redirect URI like Google; Azure AD calls it a bad grant.
    error = "invalid_grant" if problem.error == "redirect_uri_mismatch" else problem.error
    described = AADSTS_CODE.match(problem.description)  # a description that names its code
    code = int(described.group(1)) if described else AADSTS.get(error, 90000)
    description = problem.description or error
    return json_response(
        {
            "error": error,
            "error_description": description if described else f"AADSTS{code}: {description}",
            "error_codes": [code],
            "timestamp": now().strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        },
        problem.status,
    )


def _redeem(state: State, request: Request) -> tuple[Grant, str, str]:
    """The grant behind a token request, the nonce its ID token must echo, and the refresh
    token to answer (a new one on every refresh: Azure AD rotates them)."""
    form = request.form
    client_id, client_secret = _client_credentials(request)
    if not client_id:
        raise OAuthError(
            "invalid_request", "The request body must contain the following parameter: 'client_id'."
        )
    if form.get("grant_type") == "authorization_code":
        grant = state.redeem_code(
            PROVIDER,
            form.get("code", ""),
            client_id,
            client_secret,
            form.get("redirect_uri", ""),
            form.get("code_verifier", ""),
        )
        return grant, grant.nonce, grant.refresh_token
    if form.get("grant_type") == "refresh_token":
        token = form.get("refresh_token", "")
        grant = state.refresh_grant(PROVIDER, token, client_id, client_secret)
        return grant, "", grants.microsoft_refresh(state, grant, token)
    raise OAuthError("unsupported_grant_type", "The provided grant type is not supported.")


def _token(state: State, request: Request) -> Response:
    try:
        grant, nonce, refresh_token = _redeem(state, request)
    except OAuthError as problem:
        return _token_error(problem)
    access = state.issue_access_token(grant)
    lifetime = int((access.expires_at - now()).total_seconds())
    client_id = _client_credentials(request)[0]
    answer = {
        "token_type": "Bearer",
        "scope": " ".join(grant.scopes),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access.token,
        "refresh_token": refresh_token,
        "client_info": client_info(grant.email),
    }
    if "openid" in grant.scopes:
        answer["id_token"] = id_token(request.host_url.rstrip("/"), grant.email, client_id, nonce)
    return json_response(answer)
