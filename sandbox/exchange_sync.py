"""EWS SyncFolderItems over the sandbox's change sequence.

Like real Exchange, it reports the items stored in the folder: single items and recurring
masters. Editing or cancelling one occurrence reports its master as updated; occurrences only
appear in a CalendarView. The SyncState is the state's sync token (calendar, position, epoch),
so `expire_sync_tokens` makes old states ErrorInvalidSyncStateData.
"""

from __future__ import annotations

from sandbox.exchange_access import Call, resolve_folder
from sandbox.exchange_items import Seen, Shape, change_key, item_element, item_id
from sandbox.exchange_xml import (
    Element,
    EwsError,
    el,
    failure,
    find,
    find_all,
    responses,
    success,
    text,
)
from sandbox.state import Calendar, Event, Gone, Invalid

MAX_SYNC_CHANGES = 512  # Exchange's ceiling for MaxChangesReturned


def _sync_position(call: Call, calendar: Calendar, token: str) -> int:
    if not token:
        return 0
    try:
        return call.state.sync_position(calendar, token)
    except (Invalid, Gone):
        raise EwsError(
            "ErrorInvalidSyncStateData",
            "Synchronization state data is corrupt or otherwise invalid.",
        ) from None


def _changed_items(
    call: Call, calendar: Calendar, position: int, limit: int
) -> tuple[list[str], int, bool]:
    """Ids of stored items (singles, masters) changed after `position`, oldest first, at most
    `limit`; the position they bring the client to; and whether nothing is left after them."""
    keys: dict[str, None] = {}
    reached = position
    for event in call.state.changes_since(calendar, position):
        key = event.recurring_event_id or event.id  # a changed occurrence changes its master
        if key not in keys and len(keys) >= limit:
            return list(keys), reached, False
        keys[key] = None
        reached = event.changed
    return list(keys), call.state.data.seq, True


def _change(
    calendar: Calendar, event: Event, initial: bool, position: int, shape: Shape
) -> Element | None:
    seen = Seen(calendar, event)
    if event.cancelled:
        return (
            None
            if initial
            else el("t:Delete", children=[el("t:ItemId", Id=seen.id, ChangeKey=change_key(event))])
        )
    # An item never updated since its creation after the client's position is new to it.
    created = initial or (event.changed > position and event.sequence == 0)
    return el("t:Create" if created else "t:Update", children=[item_element(seen, shape)])


def sync_folder_items(call: Call, request: Element) -> Element:
    try:
        calendar = resolve_folder(call, find(request, "m:SyncFolderId/*")).require("reader")
        token = text(request, "m:SyncState")
        position = _sync_position(call, calendar, token)
        limit = int(text(request, "m:MaxChangesReturned", "100"))
        if not 1 <= limit <= MAX_SYNC_CHANGES:  # the schema's MaxSyncChangesReturnedType
            raise ValueError(f"MaxChangesReturned must be 1 to {MAX_SYNC_CHANGES}")
        ignored = {node.get("Id") for node in find_all(request, "m:Ignore/t:ItemId")}
        shape = Shape.parse(find(request, "m:ItemShape"))
        keys, reached, last = _changed_items(call, calendar, position, limit)
        changes = [
            _change(calendar, calendar.events[key], not token, position, shape)
            for key in keys
            if key in calendar.events and item_id(calendar.id, key) not in ignored
        ]
        message = success(
            "SyncFolderItems",
            el("m:SyncState", call.state.sync_token(calendar, reached)),
            el("m:IncludesLastItemInRange", last),
            el("m:Changes", children=changes),
        )
    except EwsError as error:
        # Exchange answers errors with an empty state too; clients read both elements.
        message = failure(
            "SyncFolderItems", error, el("m:SyncState"), el("m:IncludesLastItemInRange", True)
        )
    return responses("SyncFolderItems", [message])
