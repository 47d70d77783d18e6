"""EWS folders: the per-request context, folder ids, GetFolder, FindFolder, CreateFolder and
DeleteFolder.

Each mailbox has a small hierarchy: root > "Top of Information Store" > Calendar (its primary
calendar) > its other calendars. Calendars shared with the mailbox are listed under "Top of
Information Store" too, so FindFolder shows everything the mailbox can read; real Exchange
does not list other people's calendars there (clients open them by mailbox address), which
`DistinguishedFolderId Id="calendar"` with a `Mailbox` also supports here.

A calendar folder's EWS id is the sandbox's calendar id (as in the control API), so tests can
name calendars directly; real Exchange ids are opaque base64 strings, and clients must not
read anything into them either way.

CreateFolder makes calendar folders only, and only right under the mailbox's own Calendar
(where the hierarchy above puts its other calendars); names are unique there, compared
case-insensitively (ErrorFolderExists). DeleteFolder deletes a calendar the mailbox owns with
its items, whatever the DeleteType (there is no Deleted Items folder); the Calendar itself is
ErrorDeleteDistinguishedFolder, a shared one ErrorAccessDenied, a deleted one
ErrorFolderNotFound.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sandbox.exchange_xml import (
    Element,
    EwsError,
    decode_id,
    el,
    encode_id,
    failure,
    find,
    find_all,
    local,
    paged,
    responses,
    success,
    text,
)
from sandbox.state import Calendar, Mailbox, NotFound, State, role_at_least

ACCESS_DENIED = "Access is denied. Check credentials and try again."
FOLDER_NOT_FOUND = "The specified folder could not be found in the store."
CALENDAR_CLASS = "IPF.Appointment"
DELETE_TYPES = ("HardDelete", "SoftDelete", "MoveToDeletedItems")
RIGHTS = (
    "CreateAssociated",
    "CreateContents",
    "CreateHierarchy",
    "Delete",
    "Modify",
    "Read",
    "ViewPrivateItems",
)
# Which EffectiveRights each sandbox role has (free/busy-only sharing reads nothing).
ROLE_RIGHTS = {
    "owner": set(RIGHTS),
    "writer": {
        "CreateAssociated",
        "CreateContents",
        "Delete",
        "Modify",
        "Read",
        "ViewPrivateItems",
    },
    "reader": {"Read", "ViewPrivateItems"},
    "freeBusyReader": set(),
}


@dataclass
class Call:
    """One EWS request: who is calling and the time zone naive datetimes are read in."""

    state: State
    mailbox: Mailbox
    zone: ZoneInfo


@dataclass
class FolderRef:
    kind: str  # root | top | calendar
    mailbox: Mailbox  # whose hierarchy the folder is seen in
    calendar: Calendar | None = None
    role: str = "owner"
    primary: bool = False

    @property
    def id(self) -> str:
        if self.calendar is not None:
            return self.calendar.id  # calendar ids are the sandbox's own, as the control API
        return encode_id(self.kind, self.mailbox.email)

    def require(self, role: str) -> Calendar:
        """The calendar, if the caller's access is at least `role`."""
        if self.calendar is None:
            raise EwsError("ErrorInvalidOperation", "The folder is not a calendar folder.")
        if not role_at_least(self.role, role):
            raise EwsError("ErrorAccessDenied", ACCESS_DENIED)
        return self.calendar


# --- resolving folder ids ----------------------------------------------------------------


def calendar_ref(call: Call, calendar_id: str) -> FolderRef:
    access = call.mailbox.calendars.get(calendar_id)
    if access is None or calendar_id not in call.state.data.calendars:
        raise EwsError("ErrorFolderNotFound", FOLDER_NOT_FOUND)
    if access.lost:  # the share was withdrawn (lose_calendar_access fault)
        raise EwsError("ErrorAccessDenied", ACCESS_DENIED)
    return FolderRef(
        "calendar",
        call.mailbox,
        call.state.data.calendars[calendar_id],
        access.role,
        access.primary,
    )


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
    if kind in ("root", "top") and owner == call.mailbox.email:
        return FolderRef(kind, call.mailbox)
    raise EwsError("ErrorFolderNotFound", FOLDER_NOT_FOUND)


def _distinguished(call: Call, name: str, address: str) -> FolderRef:
    if address and address.lower() != call.mailbox.email:
        return _other_mailbox_calendar(call, name, address)
    if name in ("root", "msgfolderroot"):
        return FolderRef("root" if name == "root" else "top", call.mailbox)
    if name == "calendar":
        return calendar_ref(call, call.mailbox.primary_calendar_id)
    # Only calendars are emulated; every other well-known folder is missing.
    raise EwsError("ErrorFolderNotFound", FOLDER_NOT_FOUND)


def _other_mailbox_calendar(call: Call, name: str, address: str) -> FolderRef:
    """Delegate access: another mailbox's calendar, if it was shared with the caller."""
    try:
        owner = call.state.mailbox(address)
    except NotFound:
        raise EwsError("ErrorNonExistentMailbox", f"No mailbox with such guid {address}.") from None
    if name != "calendar":
        raise EwsError("ErrorAccessDenied", ACCESS_DENIED)
    if owner.primary_calendar_id not in call.mailbox.calendars:
        raise EwsError("ErrorAccessDenied", ACCESS_DENIED)
    return calendar_ref(call, owner.primary_calendar_id)


# --- the hierarchy -----------------------------------------------------------------------


def _visible(call: Call) -> list[FolderRef]:
    return [
        FolderRef("calendar", call.mailbox, calendar, access.role, access.primary)
        for calendar, access in call.state.calendars_of(call.mailbox)
    ]


def children(call: Call, parent: FolderRef) -> list[FolderRef]:
    calendars = _visible(call)
    if parent.kind == "root":
        return [FolderRef("top", call.mailbox)]
    if parent.kind == "top":
        return [ref for ref in calendars if ref.primary or ref.role != "owner"]
    if parent.primary:
        return [ref for ref in calendars if not ref.primary and ref.role == "owner"]
    return []


def descendants(call: Call, parent: FolderRef) -> list[FolderRef]:
    found = []
    for child in children(call, parent):
        found += [child, *descendants(call, child)]
    return found


def _parent(call: Call, ref: FolderRef) -> FolderRef | None:
    if ref.kind == "root":
        return None
    if ref.kind == "top" or ref.primary or ref.role != "owner":
        return FolderRef("root" if ref.kind == "top" else "top", call.mailbox)
    return FolderRef(
        "calendar",
        call.mailbox,
        call.state.data.calendars[call.mailbox.primary_calendar_id],
        primary=True,
    )


def folder_element(call: Call, ref: FolderRef) -> Element:
    parent = _parent(call, ref)
    tag, folder_class, name, total = "t:Folder", None, "Root", 0
    if ref.kind == "top":
        name = "Top of Information Store"
    elif ref.calendar is not None:
        tag, folder_class = "t:CalendarFolder", "IPF.Appointment"
        name = "Calendar" if ref.primary else ref.calendar.name
        total = sum(
            1 for e in ref.calendar.events.values() if not e.cancelled and not e.recurring_event_id
        )
    rights = ROLE_RIGHTS[ref.role]
    return el(
        tag,
        children=[
            el("t:FolderId", Id=ref.id, ChangeKey="AQAAAA=="),
            parent and el("t:ParentFolderId", Id=parent.id, ChangeKey="AQAAAA=="),
            folder_class and el("t:FolderClass", folder_class),
            el("t:DisplayName", name),
            el("t:TotalCount", total),
            el("t:ChildFolderCount", len(children(call, ref))),
            el("t:EffectiveRights", children=[el(f"t:{r}", r in rights) for r in RIGHTS]),
        ],
    )


# --- operations --------------------------------------------------------------------------


def get_folder(call: Call, request: Element) -> Element:
    messages = []
    for node in find_all(request, "m:FolderIds/*"):
        try:
            folder = folder_element(call, resolve_folder(call, node))
            messages.append(success("GetFolder", el("m:Folders", children=[folder])))
        except EwsError as error:
            messages.append(failure("GetFolder", error))
    return responses("GetFolder", messages)


def find_folder(call: Call, request: Element) -> Element:
    deep = request.get("Traversal", "Shallow") == "Deep"
    view = find(request, "m:IndexedPageFolderView")
    offset = int(view.get("Offset", "0")) if view is not None else 0
    size = (
        int(view.get("MaxEntriesReturned"))
        if view is not None and view.get("MaxEntriesReturned")
        else None
    )
    messages = []
    for node in find_all(request, "m:ParentFolderIds/*"):
        try:
            parent = resolve_folder(call, node)
            found = descendants(call, parent) if deep else children(call, parent)
            start, end, attrs = paged(len(found), offset, size)
            folders = [folder_element(call, ref) for ref in found[start:end]]
            messages.append(
                success(
                    "FindFolder",
                    el("m:RootFolder", children=[el("t:Folders", children=folders)], **attrs),
                )
            )
        except EwsError as error:
            messages.append(failure("FindFolder", error))
    return responses("FindFolder", messages)


def _new_calendar(call: Call, parent: FolderRef, node: Element) -> Element:
    """Create the calendar one t:Folder / t:CalendarFolder asks for; answer its id."""
    if not parent.primary:  # only the caller's own Calendar is primary to them
        raise EwsError(
            "ErrorInvalidOperation", "The sandbox creates calendars only under the Calendar."
        )
    folder_class = text(node, "t:FolderClass", CALENDAR_CLASS if local(node) != "Folder" else "")
    if not folder_class.startswith(CALENDAR_CLASS):
        raise EwsError("ErrorInvalidOperation", "Only calendar folders are emulated.")
    name = text(node, "t:DisplayName")
    if not name:
        raise EwsError("ErrorInvalidPropertySet", "A folder needs a DisplayName.")
    if call.state.owned_calendar(call.mailbox, name) is not None:
        raise EwsError("ErrorFolderExists", "A folder with the specified name already exists.")
    calendar = call.state.add_calendar(call.mailbox.email, name=name, access="owner")
    return el(f"t:{local(node)}", children=[el("t:FolderId", Id=calendar.id, ChangeKey="AQAAAA==")])


def create_folder(call: Call, request: Element) -> Element:
    messages = []
    for node in find_all(request, "m:Folders/*"):
        try:
            parent = resolve_folder(call, find(request, "m:ParentFolderId/*"))
            folder = _new_calendar(call, parent, node)
            messages.append(success("CreateFolder", el("m:Folders", children=[folder])))
        except EwsError as error:
            messages.append(failure("CreateFolder", error))
    return responses("CreateFolder", messages)


def _delete_calendar(call: Call, node: Element) -> None:
    ref = resolve_folder(call, node)
    if ref.calendar is None or ref.primary:
        raise EwsError("ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
    if ref.role != "owner":
        raise EwsError("ErrorAccessDenied", ACCESS_DENIED)
    call.state.delete_calendar(ref.calendar.id)


def delete_folder(call: Call, request: Element) -> Element:
    if request.get("DeleteType") not in DELETE_TYPES:
        raise EwsError(
            "ErrorSchemaValidation", "DeleteType must be one of " + ", ".join(DELETE_TYPES)
        )
    messages = []
    for node in find_all(request, "m:FolderIds/*"):
        try:
            _delete_calendar(call, node)
            messages.append(success("DeleteFolder"))
        except EwsError as error:
            messages.append(failure("DeleteFolder", error))
    return responses("DeleteFolder", messages)
