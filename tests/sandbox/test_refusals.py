"""Requests the real services refuse are refused alike, in the same error shape. Raw SOAP
where exchangelib always sends what is required; Graph over requests."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.sandbox.test_microsoft import Graph

ED = "ed@corp.example"
ENVELOPE = """<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
 xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
<s:Header><t:RequestServerVersion Version="Exchange2016"/></s:Header>
<s:Body>{body}</s:Body></s:Envelope>"""
ITEM = """<t:CalendarItem><t:Subject>Plan</t:Subject>
<t:Start>2026-03-10T09:00:00Z</t:Start><t:End>2026-03-10T10:00:00Z</t:End></t:CalendarItem>"""


@pytest.fixture
def soap(sandbox_server: Any, control: Any) -> Any:
    control.post("/mailboxes", {"provider": "exchange", "email": ED})

    def call(body: str) -> str:
        answer = requests.post(
            sandbox_server.http_url + "/EWS/Exchange.asmx",
            data=ENVELOPE.format(body=body),
            auth=(ED, "sandbox"),
            timeout=10,
        )
        return answer.text

    return call


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            f"<m:CreateItem><m:Items>{ITEM}</m:Items></m:CreateItem>",
            "ErrorSendMeetingInvitationsRequired",
        ),
        (
            "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"
            '<m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId>'
            "<m:MaxChangesReturned>1000</m:MaxChangesReturned></m:SyncFolderItems>",
            "ErrorSchemaValidation",
        ),
        (
            '<m:UpdateItem ConflictResolution="Sometimes" '
            'SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges/></m:UpdateItem>',
            "ErrorSchemaValidation",
        ),
    ],
)
def test_ews_refuses_what_exchange_refuses(soap: Any, body: str, code: str) -> None:
    assert f">{code}<" in soap(body)


def test_ews_item_writes_need_their_invitation_attributes(soap: Any, control: Any) -> None:
    created = soap(
        '<m:CreateItem SendMeetingInvitations="SendToNone">'
        f"<m:Items>{ITEM}</m:Items></m:CreateItem>"
    )
    item_id = created.split('ItemId Id="')[1].split('"')[0]
    ids = f'<m:ItemIds><t:ItemId Id="{item_id}"/></m:ItemIds>'

    no_cancellations = soap(f'<m:DeleteItem DeleteType="HardDelete">{ids}</m:DeleteItem>')
    no_delete_type = soap(
        f'<m:DeleteItem SendMeetingCancellations="SendToNone">{ids}</m:DeleteItem>'
    )
    accept_own = soap(
        '<m:CreateItem MessageDisposition="SendOnly"><m:Items><t:AcceptItem>'
        f'<t:ReferenceItemId Id="{item_id}"/></t:AcceptItem></m:Items></m:CreateItem>'
    )

    assert "NoError" in created
    assert ">ErrorSendMeetingCancellationsRequired<" in no_cancellations
    assert ">ErrorSchemaValidation<" in no_delete_type
    assert ">ErrorCalendarIsOrganizerForAccept<" in accept_own
    assert len(control.get(f"/mailboxes/{ED}/calendars/primary/events")) == 1


def test_graph_delta_takes_no_odata_query_options(sandbox_server: Any, control: Any) -> None:
    control.post("/mailboxes", {"provider": "microsoft", "email": "megan@contoso.example"})
    tokens = control.post("/tokens", {"provider": "microsoft", "email": "megan@contoso.example"})
    graph = Graph(sandbox_server.http_url, tokens["access_token"])
    window = {"startDateTime": "2027-05-01T00:00:00Z", "endDateTime": "2027-06-01T00:00:00Z"}

    refused = graph.call(
        "GET", "/me/calendarView/delta", expect=400, params={**window, "$select": "subject"}
    ).json()
    graph.get("/me/calendarView/delta", params=window)

    assert refused["error"]["code"] == "ErrorInvalidUrlQuery"
    assert "'$select'" in refused["error"]["message"]
