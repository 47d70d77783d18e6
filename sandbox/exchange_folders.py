"""EWS folders: the folder tree of a mailbox, GetFolder, FindFolder, CreateFolder and
DeleteFolder. Which folder a request names, and what the caller may do with it (delegate
access to other mailboxes), is in `exchange_access`.

Each mailbox has a small tree: root > "Top of Information Store" > Calendar (its primary
calendar) > its other calendars, and an empty "Sent Items" beside the Calendar. It holds the
mailbox's own folders only: calendars shared with it are not listed (real Exchange lists
them nowhere; Outlook keeps its own shortcuts to them). A delegate who may see another
mailbox's Calendar finds there the other calendars of that mailbox shared with it.

CreateFolder makes calendar folders only, and only right under the mailbox's own Calendar;
names are unique there, compared case-insensitively (ErrorFolderExists). DeleteFolder
deletes a calendar the mailbox owns with its items, whatever the DeleteType (there is no
Deleted Items folder); the Calendar itself is ErrorDeleteDistinguishedFolder, a shared one
ErrorAccessDenied, a deleted one ErrorFolderNotFound.
"""

from __future__ import annotations

from sandbox.exchange_access import (
    ACCESS_DENIED,
    MAIL_FOLDERS,
    Call,
    FolderRef,
    resolve_folder,
)
from sandbox.exchange_xml import (
    Element,
    EwsError,
    el,
    failure,
    find,
    find_all,
    local,
    paged,
    responses,
    success,
    text,
)
from sandbox.state import Mailbox

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
SENT_NAME = MAIL_FOLDERS["sentitems"][1]


# --- the tree ----------------------------------------------------------------------------


def _calendar(call: Call, store: Mailbox, calendar_id: str, primary: bool) -> FolderRef | None:
    """A calendar of `store` as the caller sees it, if it may see it at all."""
    access = call.mailbox.calendars.get(calendar_id)
    calendar = call.state.data.calendars.get(calendar_id)
    if access is None or access.lost or calendar is None:
        return None
    return FolderRef("calendar", store, calendar, access.role, primary)


def children(call: Call, parent: FolderRef) -> list[FolderRef]:
    store = parent.mailbox
    if store is None:
        return []
    if parent.kind == "root":
        return [FolderRef("top", store)]
    if parent.kind == "top":
        primary = _calendar(call, store, store.primary_calendar_id, primary=True)
        return [ref for ref in (primary, FolderRef("sent", store)) if ref is not None]
    if parent.primary:
        owned = [
            cal_id
            for cal_id, access in store.calendars.items()
            if not access.primary
            and call.state.data.calendars.get(cal_id) is not None
            and call.state.data.calendars[cal_id].owner == store.email
        ]
        found = [_calendar(call, store, cal_id, primary=False) for cal_id in owned]
        return [ref for ref in found if ref is not None]
    return []


def descendants(call: Call, parent: FolderRef) -> list[FolderRef]:
    found = []
    for child in children(call, parent):
        found += [child, *descendants(call, child)]
    return found


def _parent(call: Call, ref: FolderRef) -> FolderRef | None:
    store = ref.mailbox
    if store is None or ref.kind == "root":
        return None
    if ref.kind == "top":
        return FolderRef("root", store)
    if ref.kind == "sent" or ref.primary:
        return FolderRef("top", store)
    calendar = call.state.data.calendars[store.primary_calendar_id]
    return FolderRef("calendar", store, calendar, primary=True)


def folder_element(call: Call, ref: FolderRef) -> Element:
    parent = _parent(call, ref)
    tag, folder_class, name, total = "t:Folder", None, "Root", 0
    if ref.kind == "top":
        name = "Top of Information Store"
    elif ref.kind == "sent":
        folder_class, name = "IPF.Note", SENT_NAME
    elif ref.calendar is not None:
        tag, folder_class = "t:CalendarFolder", CALENDAR_CLASS
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
    if not (parent.primary and parent.owned_by(call.mailbox)):
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
    if ref.role != "owner" or not ref.owned_by(call.mailbox):
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
