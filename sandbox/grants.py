"""How long refresh tokens live at each provider, and what ends them.

Google (https://developers.google.com/identity/protocols/oauth2#expiration): a refresh token
stops working when the user revokes the app's access, when it was not used for six months,
when the user changes their password and the token holds Gmail scopes, and after 7 days when
the app's OAuth consent screen is in "Testing" publishing status (unless only sign-in scopes
were asked for). Each answers `400 {"error": "invalid_grant", "error_description": "Token has
been expired or revoked."}`.

Microsoft (https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens): every
refresh answers a new refresh token and "doesn't revoke old refresh tokens"; a refresh token
expires after 90 days without use (AADSTS700082). A password change leaves a confidential
client's tokens alive; revoking the user's sessions ends them (AADSTS50173).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sandbox.state import REVOKED, Grant, Invalid, OAuthError, State, now

GOOGLE_TESTING_LIFETIME = timedelta(days=7)
GOOGLE_UNUSED_LIFETIME = timedelta(days=183)  # "six months"
MICROSOFT_INACTIVE_LIFETIME = timedelta(days=90)
GOOGLE_SIGN_IN_SCOPES = frozenset(
    {
        "openid",
        "email",
        "profile",
        "https://www.googleapis.com/auth/userinfo.email",
        "https://www.googleapis.com/auth/userinfo.profile",
    }
)
GMAIL_SCOPES = ("https://mail.google.com/", "https://www.googleapis.com/auth/gmail.")
CAUSES = {
    "google": ("testing", "inactivity", "password_change", "user_revoked"),
    "microsoft": ("inactivity", "password_change", "user_revoked"),
}
PUBLISHING_STATUSES = ("production", "testing")


def microsoft_inactive(grant: Grant, issued: Any) -> str:
    return (
        "AADSTS700082: The refresh token has expired due to inactivity. The token was issued "
        f"on {issued.isoformat()} and was inactive for 90.00:00:00."
    )


def microsoft_revoked(grant: Grant) -> str:
    return (
        "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth "
        "token is needed. The user might have changed or reset their password. The grant was "
        f"issued on '{grant.issued_at.isoformat()}' and the TokensValidFrom date (before which "
        f"tokens are not valid) for this user is '{now().isoformat()}'."
    )


# --- refreshing ----------------------------------------------------------------------------


def google_refresh(state: State, grant: Grant) -> None:
    """Apply Google's lifetimes to a refresh about to succeed; record the use."""
    at = now()
    testing = state.data.clients.get(grant.client_id, {}).get("publishing_status") == "testing"
    only_sign_in = set(grant.scopes) <= GOOGLE_SIGN_IN_SCOPES
    expired = (testing and not only_sign_in and at - grant.issued_at > GOOGLE_TESTING_LIFETIME) or (
        at - grant.last_used > GOOGLE_UNUSED_LIFETIME
    )
    if expired:
        state.revoke_grants([grant], REVOKED)
        raise OAuthError("invalid_grant", REVOKED)
    grant.last_used = at


def microsoft_refresh(state: State, grant: Grant, refresh_token: str) -> str:
    """Apply Microsoft's inactivity limit to the refresh token used, record its use, and
    answer the next refresh token (rotation; the old one keeps working)."""
    at = now()
    record = state.data.refresh_tokens.get(refresh_token)
    last_used = record.last_used if record else grant.last_used
    if at - last_used > MICROSOFT_INACTIVE_LIFETIME:
        raise OAuthError("invalid_grant", microsoft_inactive(grant, last_used))
    if record:
        record.last_used = at
    else:
        grant.last_used = at
    return state.rotate_refresh_token(grant)


# --- the control API's expire_refresh_tokens fault -----------------------------------------


def expire(state: State, provider: str, email: str, cause: str) -> dict[str, Any]:
    """End the refresh tokens of a mailbox (or of every mailbox of the provider) as `cause`
    would: each then answers invalid_grant with the provider's description."""
    if cause not in CAUSES.get(provider, ()):
        choices = ", ".join(CAUSES.get(provider, ())) or "none (no refresh tokens)"
        raise Invalid(f"cause must be one of: {choices}")
    email = email.strip().lower()
    grants = [
        g
        for g in state.data.grants.values()
        if g.provider == provider and email in ("", g.email) and not g.revoked
    ]
    if provider == "google":
        if cause == "password_change":
            grants = [g for g in grants if any(s.startswith(GMAIL_SCOPES) for s in g.scopes)]
        affected = state.revoke_grants(grants, REVOKED)
    elif cause == "password_change":
        affected = 0  # confidential clients' refresh tokens survive a password change
    elif cause == "inactivity":
        for grant in grants:  # as if nobody had refreshed for longer than the limit
            grant.last_used = now() - MICROSOFT_INACTIVE_LIFETIME - timedelta(days=1)
            for record in state.data.refresh_tokens.values():
                if record.grant == grant.refresh_token:
                    record.last_used = grant.last_used
        affected = len(grants)
    else:
        affected = sum(state.revoke_grants([g], microsoft_revoked(g)) for g in grants)
    return {
        "kind": "expire_refresh_tokens",
        "provider": provider,
        "email": email,
        "cause": cause,
        "affected": affected,
    }


def set_client(state: State, client_id: str, body: dict[str, Any]) -> dict[str, str]:
    """Control API: a Google OAuth client's publishing status ("testing" gives refresh tokens
    a 7-day life)."""
    status = body.get("publishing_status")
    if status not in PUBLISHING_STATUSES:
        raise Invalid(f"publishing_status must be one of {', '.join(PUBLISHING_STATUSES)}")
    settings = state.data.clients.setdefault(client_id, {})
    settings["publishing_status"] = status
    return {"client_id": client_id, **settings}
