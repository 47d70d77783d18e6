"""Delegate access to other Exchange mailboxes through exchangelib, as EWS does it: their
calendars are not in the own folder tree; they are opened by DistinguishedFolderId with the
owner's Mailbox, then used by id, as far as the owner's grant allows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from exchangelib import (
    DELEGATE,
    UTC,
    Account,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    FolderCollection,
)
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorFolderNotFound,
    ErrorMailRecipientNotFound,
    ErrorNonExistentMailbox,
)
from exchangelib.folders import DEEP, Calendar, SingleFolderQuerySet
from exchangelib.properties import DistinguishedFolderId, Mailbox
from exchangelib.protocol import close_connections

ALICE, BOB, CAROL = "alice@corp.example", "bob@corp.example", "carol@corp.example"
WINDOW = (EWSDateTime(2026, 3, 1, tzinfo=UTC), EWSDateTime(2026, 4, 1, tzinfo=UTC))


@pytest.fixture
def office(control: Any) -> None:
    """Bob shares his Calendar with Alice (Reviewer) and one of his other calendars (Editor);
    his "Private" calendar and Carol's calendar are not shared with her."""
    for email in (ALICE, BOB, CAROL):
        control.post("/mailboxes", {"provider": "exchange", "email": email})
    control.post(f"/mailboxes/{BOB}/calendars", {"id": "bob-projects", "name": "Projects"})
    control.post(f"/mailboxes/{BOB}/calendars", {"id": "bob-private", "name": "Private"})
    control.post(f"/mailboxes/{ALICE}/calendars", {"id": BOB, "access": "reader"})
    control.post(f"/mailboxes/{ALICE}/calendars", {"id": "bob-projects", "access": "writer"})
    control.post(
        f"/mailboxes/{BOB}/calendars/primary/events",
        {
            "summary": "Board meeting",
            "start": "2026-03-10T09:00:00Z",
            "end": "2026-03-10T10:00:00Z",
        },
    )


@pytest.fixture
def account(sandbox_server: Any, office: Any) -> Iterator[Account]:
    """Alice, signed in to her own mailbox."""
    close_connections()
    config = Configuration(
        credentials=Credentials(ALICE, "sandbox"),
        service_endpoint=sandbox_server.http_url + "/EWS/Exchange.asmx",
    )
    yield Account(ALICE, config=config, autodiscover=False, access_type=DELEGATE)
    close_connections()


def open_calendar(account: Account, owner: str, name: str = "calendar") -> Calendar:
    """How a delegate opens someone's calendar with exchangelib: a folder named by its
    DistinguishedFolderId and the owner's Mailbox, resolved with GetFolder; from then on the
    folder's id is used."""
    named = Calendar(
        _distinguished_id=DistinguishedFolderId(id=name, mailbox=Mailbox(email_address=owner)),
        root=account.root,
    )
    found = SingleFolderQuerySet(account=account, folder=named).resolve()
    if isinstance(found, Exception):  # exchangelib hands per-folder errors back as values
        raise found
    return found


def test_the_own_tree_has_no_other_mailboxs_calendars(account: Account) -> None:
    found = list(FolderCollection(account=account, folders=[account.root]).find_folders(depth=DEEP))

    assert {f.name for f in found if f.folder_class == "IPF.Appointment"} == {"Calendar"}
    assert "Sent Items" in {f.name for f in found}


def test_a_reviewer_delegate_reads_the_owners_calendar(account: Account) -> None:
    bobs = open_calendar(account, BOB)

    items = list(bobs.view(start=WINDOW[0], end=WINDOW[1]))
    synced = list(bobs.sync_items())
    others = FolderCollection(account=account, folders=[bobs]).find_folders()
    with pytest.raises(ErrorAccessDenied):
        CalendarItem(
            account=account, folder=bobs, subject="Mine", start=WINDOW[0], end=WINDOW[1]
        ).save()

    assert bobs.id == BOB and bobs.name == "Calendar"
    assert bobs.effective_rights.read and not bobs.effective_rights.modify
    assert [i.subject for i in items] == ["Board meeting"]
    assert [kind for kind, _ in synced] == ["create"]
    assert [f.name for f in others] == ["Projects"]  # "Private" is not shared with Alice


def test_an_editor_delegate_writes_in_the_shared_calendar(account: Account, control: Any) -> None:
    projects = next(
        f
        for f in FolderCollection(
            account=account, folders=[open_calendar(account, BOB)]
        ).find_folders()
    )

    CalendarItem(
        account=account,
        folder=projects,
        subject="Kick-off",
        start=EWSDateTime(2026, 3, 11, 9, tzinfo=UTC),
        end=EWSDateTime(2026, 3, 11, 10, tzinfo=UTC),
    ).save()

    assert projects.effective_rights.modify and not projects.effective_rights.create_hierarchy
    stored = control.get(f"/mailboxes/{BOB}/calendars/bob-projects/events")
    assert [e["summary"] for e in stored] == ["Kick-off"]


def test_what_is_not_shared_or_not_there_is_refused_as_ews_does(
    account: Account, control: Any
) -> None:
    control.post("/mailboxes", {"provider": "google", "email": "gina@corp.example"})

    with pytest.raises(ErrorAccessDenied):
        open_calendar(account, CAROL)  # a colleague who shared nothing
    with pytest.raises(ErrorNonExistentMailbox):
        open_calendar(account, "nobody@corp.example")
    with pytest.raises(ErrorNonExistentMailbox):
        open_calendar(account, "gina@corp.example")  # a Google mailbox: not on this server
    with pytest.raises(ErrorAccessDenied):
        open_calendar(account, BOB, name="inbox")  # only his calendar is shared
    bobs = open_calendar(account, BOB)
    control.post(
        "/faults",
        {
            "provider": "exchange",
            "kind": "lose_calendar_access",
            "email": ALICE,
            "calendar_id": BOB,
        },
    )
    with pytest.raises(ErrorAccessDenied):
        list(bobs.view(start=WINDOW[0], end=WINDOW[1]))


def test_a_calendar_only_grant_does_not_open_the_owners_root(account: Account) -> None:
    """exchangelib's `Account(owner, DELEGATE).calendar` starts at the owner's root folder,
    which a calendar-only grant does not make visible: open the calendar by address instead."""
    owners = Account(BOB, config=account.protocol.config, autodiscover=False, access_type=DELEGATE)

    with pytest.raises(ErrorAccessDenied):
        owners.calendar  # noqa: B018
    assert open_calendar(account, BOB).name == "Calendar"


def test_a_deleted_shared_calendar_is_not_found(account: Account, control: Any) -> None:
    projects = next(
        f
        for f in FolderCollection(
            account=account, folders=[open_calendar(account, BOB)]
        ).find_folders()
    )
    bob = Account(
        BOB,
        config=Configuration(
            credentials=Credentials(BOB, "sandbox"),
            service_endpoint=account.protocol.service_endpoint,
        ),
        autodiscover=False,
        access_type=DELEGATE,
    )
    FolderCollection(account=bob, folders=[bob.calendar]).find_folders()  # bob's own view
    next(f for f in bob.calendar.children if f.name == "Projects").delete()

    with pytest.raises(ErrorFolderNotFound):
        list(projects.view(start=WINDOW[0], end=WINDOW[1]))


def test_free_busy_of_a_colleague_needs_no_grant(account: Account, control: Any) -> None:
    control.post(
        f"/mailboxes/{CAROL}/calendars/primary/events",
        {"start": "2026-03-10T09:00:00Z", "end": "2026-03-10T10:00:00Z"},
    )
    control.post("/mailboxes", {"provider": "google", "email": "gina@corp.example"})

    views = list(
        account.protocol.get_free_busy_info(
            accounts=[(CAROL, "Required", False), ("gina@corp.example", "Required", False)],
            start=EWSDateTime(2026, 3, 10, 8, tzinfo=UTC),
            end=EWSDateTime(2026, 3, 10, 12, tzinfo=UTC),
            merged_free_busy_interval=60,
        )
    )

    assert views[0].merged == "0200"
    assert isinstance(views[1], ErrorMailRecipientNotFound)
