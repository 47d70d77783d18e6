"""XML plumbing shared by the EWS emulation: namespaces, element builders, a safe parser, ids,
datetimes, SOAP envelopes and faults, and the response-message shapes every operation uses.

Responses declare the prefixes real Exchange uses (`s`, `m`, `t`) on the envelope.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from sandbox import timezones

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
ENS = "http://schemas.microsoft.com/exchange/services/2006/errors"
NS = {"s": SOAP, "m": MNS, "t": TNS}

# Client XML is untrusted: no DTDs, no entity expansion, no network, no huge trees.
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=True
)

Element = etree._Element


class EwsError(Exception):
    """An EWS ResponseCode for one response message (ErrorItemNotFound, ...)."""

    def __init__(self, code: str, text: str = "") -> None:
        super().__init__(text or code)
        self.code = code
        self.text = text or code


# --- building and reading ----------------------------------------------------------------


def _qname(tag: str) -> str:
    prefix, _, name = tag.partition(":")
    return f"{{{NS[prefix]}}}{name}"


def el(tag: str, text: Any = None, children: Iterable[Any] = (), **attrs: Any) -> Element:
    """`el("t:Subject", "Demo")`. Children that are not elements (None, or the falsy value of
    a `value and el(...)` expression) are skipped; None attributes are left out."""
    node = etree.Element(_qname(tag), {k: _text(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        node.text = _text(text)
    for child in children:
        if isinstance(child, etree._Element):
            node.append(child)
    return node


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return stamp(value)
    return str(value)


def parse(body: bytes) -> Element:
    try:
        return etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise EwsError(
            "ErrorSchemaValidation", f"The request failed schema validation: {exc}"
        ) from None


def find(node: Element | None, path: str) -> Element | None:
    return None if node is None else node.find(path, NS)


def find_all(node: Element | None, path: str) -> list[Element]:
    return [] if node is None else node.findall(path, NS)


def text(node: Element | None, path: str = "", default: str = "") -> str:
    found = node if not path else find(node, path)
    return default if found is None or found.text is None else found.text.strip()


def flag(node: Element | None, path: str, default: bool = False) -> bool:
    value = text(node, path)
    return value.lower() in ("true", "1") if value else default


def local(node: Element) -> str:
    return etree.QName(node).localname


# --- values ------------------------------------------------------------------------------


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: str, zone: ZoneInfo) -> datetime:
    """An xs:dateTime; a value without offset is read in the request's time zone context."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise EwsError("ErrorInvalidValueForProperty", f"Invalid date/time {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def zone_named(name: str, fallback: str = "UTC") -> str:
    """An IANA zone for a Windows time zone id (or an IANA name, which EWS also accepts)."""
    return timezones.to_iana(name) or fallback


def windows_zone(iana: str) -> str:
    return timezones.to_windows(iana)


# --- ids ---------------------------------------------------------------------------------
# EWS ids are opaque base64 strings; ours carry what the sandbox needs to find the object.


def encode_id(*parts: str) -> str:
    return base64.b64encode("\n".join(parts).encode()).decode()


def decode_id(value: str, size: int) -> list[str]:
    """The parts `encode_id` joined (the first names the kind of object)."""
    try:
        parts = base64.b64decode(value.encode(), validate=True).decode().split("\n")
    except (binascii.Error, UnicodeDecodeError):
        parts = []
    if len(parts) != size:
        raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.")
    return parts


# --- envelopes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Build:
    major: int
    minor: int
    major_build: int
    minor_build: int

    @classmethod
    def parse(cls, value: str) -> Build:
        numbers = [int(part) for part in value.split(".")]
        if not 2 <= len(numbers) <= 4:
            raise ValueError("a build looks like 15.1.2507.6")
        return cls(*[*numbers, 0, 0][:4])

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.major_build}.{self.minor_build}"


def document(root: Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def envelope(payload: Element, build: Build, api_version: str) -> bytes:
    root = etree.Element(_qname("s:Envelope"), nsmap=NS)
    header = etree.SubElement(root, _qname("s:Header"))
    header.append(
        el(
            "t:ServerVersionInfo",
            MajorVersion=build.major,
            MinorVersion=build.minor,
            MajorBuildNumber=build.major_build,
            MinorBuildNumber=build.minor_build,
            Version=api_version,
        )
    )
    etree.SubElement(root, _qname("s:Body")).append(payload)
    return document(root)


def soap_fault(
    code: str, message: str, values: dict[str, str] | None = None, fault_code: str = ""
) -> bytes:
    """A SOAP 1.1 fault with EWS's detail block (ResponseCode, Message, MessageXml values)."""
    root = etree.Element(_qname("s:Envelope"), nsmap=NS)
    fault = etree.SubElement(etree.SubElement(root, _qname("s:Body")), _qname("s:Fault"))
    etree.SubElement(fault, "faultcode").text = fault_code or f"a:{code}"
    etree.SubElement(fault, "faultstring").text = message
    detail = etree.SubElement(fault, "detail")
    etree.SubElement(detail, f"{{{ENS}}}ResponseCode", nsmap={"e": ENS}).text = code
    etree.SubElement(detail, f"{{{ENS}}}Message", nsmap={"e": ENS}).text = message
    if values:
        detail.append(
            el(
                "t:MessageXml",
                children=[el("t:Value", value, Name=name) for name, value in values.items()],
            )
        )
    return document(root)


def success(operation: str, *children: Element | None) -> Element:
    return el(
        f"m:{operation}ResponseMessage",
        ResponseClass="Success",
        children=[el("m:ResponseCode", "NoError"), *children],
    )


def failure(operation: str, error: EwsError, *children: Element | None) -> Element:
    return el(
        f"m:{operation}ResponseMessage",
        ResponseClass="Error",
        children=[
            el("m:MessageText", error.text),
            el("m:ResponseCode", error.code),
            el("m:DescriptiveLinkKey", 0),
            *children,
        ],
    )


def responses(operation: str, messages: Iterable[Element]) -> Element:
    return el(f"m:{operation}Response", children=[el("m:ResponseMessages", children=messages)])


def paged(total: int, offset: int, page_size: int | None) -> tuple[int, int, dict[str, Any]]:
    """Slice bounds and RootFolder attributes for an IndexedPage*View."""
    end = total if page_size is None else min(total, offset + page_size)
    attrs: dict[str, Any] = {"TotalItemsInView": total, "IncludesLastItemInRange": end >= total}
    if end < total:
        attrs["IndexedPagingOffset"] = end
    return offset, end, attrs
