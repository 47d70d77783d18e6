"""Whose folder an EWS request names, and what the caller may do with it.

A mailbox's own folder tree holds its own folders only: other people's calendars are not in it,
even when shared. A delegate opens another mailbox's calendar explicitly, by
`DistinguishedFolderId Id="calendar"` with a `Mailbox`, and then uses the folder and item ids
it got back (implicit access) - https://learn.microsoft.com/en-us/exchange/client-developer/
exchange-web-services/how-to-access-a-calendar-as-a-delegate-by-using-ews-in-exchange.
What the delegate may do follows the permission the owner granted on that folder (the
sandbox's access roles: freeBusyReader = FreeBusyTimeOnly, reader = Reviewer, writer =
Editor, owner = Owner). Without a grant, another mailbox's folders answer ErrorAccessDenied
(the organisation's Default permission covers free/busy through GetUserAvailability only);
an address that is no mailbox on this Exchange server answers ErrorNonExistentMailbox; a
deleted or unknown folder ErrorFolderNotFound.

A calendar shared from outside the sandbox (no owning mailbox) has no folder tree to sit in:
it is reachable by its folder id, or, when its id is an address, as that address's calendar.

A calendar folder's EWS id is the sandbox's calendar id (as in the control API), so tests can
name calendars directly; real Exchange ids are opaque base64 strings, and clients must not
read anything into them either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sandbox.exchange_xml import Element, EwsError, decode_id, encode_id, local, text
from sandbox.state import Calendar, Mailbox, State, role_at_least

PROVIDER = "exchange"
ACCESS_DENIED = "Access is denied. Check credentials and try again."
FOLDER_NOT_FOUND = "The specified folder could not be found in the store."
# Mail folders exist only so clients that save a copy of what they send (exchangelib saves
# meeting responses to Sent Items) find them; they hold nothing.
MAIL_FOLDERS = {"sentitems": ("sent", "Sent Items")}


@dataclass
class Call:
    """One EWS request: who is calling and the time zone naive datetimes are read in."""

    state: State
    mailbox: Mailbox
    zone: ZoneInfo


@dataclass
class FolderRef:
    kind: str  # root | top | calendar | sent
    mailbox: Mailbox | None  # whose store holds the folder (None: outside the sandbox)
    calendar: Calendar | None = None
    role: str = "owner"  # the caller's access to it
    primary: bool = False  # the store's own Calendar (a distinguished folder)

    @property
    def id(self) -> str:
        if self.calendar is not None:
            return self.calendar.id  # calendar ids are the sandbox's own, as the control API
        return encode_id(self.kind, self.mailbox.email if self.mailbox else "")

    def owned_by(self, mailbox: Mailbox) -> bool:
        return self.mailbox is not None and self.mailbox.email == mailbox.email

    def require(self, role: str) -> Calendar:
        """The calendar, if the caller's access is at least `role`."""
        if self.calendar is None:
            raise EwsError("ErrorInvalidOperation", "The folder is not a calendar folder.")
        if not role_at_least(self.role, role):
            raise EwsError("ErrorAccessDenied", ACCESS_DENIED)
        return self.calendar


def store_of(state: State, calendar: Calendar) -> Mailbox | None:
    """The Exchange mailbox whose store holds a calendar (None: outside the sandbox)."""
    owner = state.data.mailboxes.get(calendar.owner.lower()) if calendar.owner else None
    return owner if owner is not None and owner.provider == PROVIDER else None


def calendar_ref(call: Call, calendar_id: str) -> FolderRef:
    """A calendar by id: the caller's own, or one shared with it (implicit access)."""
    calendar = call.state.data.calendars.get(calendar_id)
    access = call.mailbox.calendars.get(calendar_id)
    if calendar is None or access is None:
        if calendar is not None and store_of(call.state, calendar) is not None:
            raise EwsError("ErrorAccessDenied", ACCESS_DENIED)  # someone's, not shared
        raise EwsError("ErrorFolderNotFound", FOLDER_NOT_FOUND)
    if access.lost:  # the share was withdrawn (lose_calendar_access fault)
        raise EwsError("ErrorAccessDenied", ACCESS_DENIED)
    store = store_of(call.state, calendar)
    primary = store is not None and store.primary_calendar_id == calendar.id
    return FolderRef("calendar", store, calendar, access.role, primary)


def resolve_folder(call: Call, node: Element | None) -> FolderRef:
    """A t:FolderId or t:DistinguishedFolderId as seen by the calling mailbox."""
    if node is None:
        raise EwsError("ErrorInvalidIdMalformed", "The request names no folder.")
    if local(node) == "DistinguishedFolderId":
        return _distinguished(call, node.get("Id", ""), text(node, "t:Mailbox/t:EmailAddress"))
    if local(node) != "FolderId":
        raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.")
    value = node.get("Id", "")
    if value in call.state.data.calendars:
        return calendar_ref(call, value)
    if value in call.state.data.deleted_calendars:
        raise EwsError("ErrorFolderNotFound", FOLDER_NOT_FOUND)
    kind, owner = decode_id(value, 2)
    if kind in ("root", "top", "sent") and owner == call.mailbox.email:
        return FolderRef(kind, call.mailbox)
    if kind in ("root", "top", "sent") and owner in call.state.data.mailboxes:
        raise EwsError("ErrorAccessDenied", ACCESS_DENIED)  # another mailbox's, not shared
    raise EwsError("ErrorFolderNotFound", FOLDER_NOT_FOUND)


def _distinguished(call: Call, name: str, address: str) -> FolderRef:
    if address and address.strip().lower() != call.mailbox.email:
        return _delegate(call, name, address.strip().lower())
    if name in ("root", "msgfolderroot"):
        return FolderRef("root" if name == "root" else "top", call.mailbox)
    if name == "calendar":
        return calendar_ref(call, call.mailbox.primary_calendar_id)
    if name in MAIL_FOLDERS:
        return FolderRef(MAIL_FOLDERS[name][0], call.mailbox)
    # Only calendars (and the mail folders above) are emulated; other well-known folders miss.
    raise EwsError("ErrorFolderNotFound", FOLDER_NOT_FOUND)


def _delegate(call: Call, name: str, address: str) -> FolderRef:
    """Explicit access to another mailbox's well-known folder (see the module docstring)."""
    owner = call.state.data.mailboxes.get(address)
    if owner is None or owner.provider != PROVIDER:
        outside = call.state.data.calendars.get(address)
        if name == "calendar" and outside is not None and not outside.owner:
            return calendar_ref(call, outside.id)  # an outside calendar known by its address
        raise EwsError(
            "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it."
        )
    if name != "calendar":
        raise EwsError("ErrorAccessDenied", ACCESS_DENIED)  # only calendars are ever shared
    return calendar_ref(call, owner.primary_calendar_id)
