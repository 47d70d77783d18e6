"""EWS meeting responses: CreateItem with t:AcceptItem, t:TentativelyAcceptItem or
t:DeclineItem referring (ReferenceItemId) to the meeting on the attendee's calendar
(https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/
how-to-respond-to-meeting-requests-by-using-ews-in-exchange).

The attendee's calendar item takes the answer at once; the organizer hears it unless the
MessageDisposition is SaveOnly (the response then waits in Drafts, which the sandbox does not
keep). MessageDisposition is required for response items (ErrorMessageDispositionRequired).
"""

from __future__ import annotations

from sandbox import invitations
from sandbox.exchange_access import Call
from sandbox.exchange_items import ITEM_NOT_FOUND, PROVIDER, resolve_item
from sandbox.exchange_xml import Element, EwsError, find, local
from sandbox.state import Invalid, NotFound

RESPONSE_ITEMS = {
    "AcceptItem": "accepted",
    "TentativelyAcceptItem": "tentative",
    "DeclineItem": "declined",
}
DISPOSITIONS = ("SaveOnly", "SendOnly", "SendAndSaveCopy")
# ResponseCodeType names the refusals per verb: ErrorCalendarIsOrganizerForAccept, ...
VERBS = {"AcceptItem": "Accept", "TentativelyAcceptItem": "Tentative", "DeclineItem": "Decline"}


def respond(call: Call, request: Element, node: Element) -> None:
    """Apply one response item of a CreateItem request."""
    disposition = request.get("MessageDisposition")
    if disposition is None:
        raise EwsError(
            "ErrorMessageDispositionRequired",
            "MessageDisposition attribute is required.",
        )
    if disposition not in DISPOSITIONS:
        raise EwsError("ErrorInvalidRequest", f"Invalid MessageDisposition {disposition!r}.")
    reference = find(node, "t:ReferenceItemId")
    if reference is None:
        raise EwsError("ErrorInvalidIdEmpty", "The ReferenceItemId is missing.")
    folder, event = resolve_item(call, _as_item_id(reference))
    calendar = folder.require("writer")
    verb = VERBS[local(node)]
    if event.organizer.lower() == call.mailbox.email:
        raise EwsError(f"ErrorCalendarIsOrganizerFor{verb}", "The organizer cannot respond.")
    if event.extra.get("is_cancelled"):
        raise EwsError(f"ErrorCalendarIsCancelledFor{verb}", "The meeting was cancelled.")
    try:
        invitations.respond(
            call.state,
            call.mailbox,
            calendar,
            event.id,
            RESPONSE_ITEMS[local(node)],
            send=disposition != "SaveOnly",
            provider=PROVIDER,
        )
    except NotFound:
        raise EwsError("ErrorItemNotFound", ITEM_NOT_FOUND) from None
    except Invalid as problem:
        raise EwsError("ErrorInvalidOperation", str(problem)) from None


def _as_item_id(reference: Element) -> Element:
    """A ReferenceItemId names an item the way an ItemId does."""
    node = reference.makeelement(reference.tag.replace("ReferenceItemId", "ItemId"))
    for name, value in reference.attrib.items():
        node.set(name, value)
    return node
