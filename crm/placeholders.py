"""Placeholders in sales email templates: {{ contact.first_name }}, {{ meeting_link }} …

A fixed vocabulary substituted with a regular expression; user-written text is never
rendered by a template engine, so a template can neither reach other data nor run code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_.]+)(?:\s*:\s*(\d{1,18}))?\s*\}\}")

# name -> label shown next to the "Insert" buttons
FIELDS = {
    "contact.first_name": "Contact first name",
    "contact.last_name": "Contact last name",
    "contact.company": "Company",
    "owner.name": "Contact owner name",
    "meeting_link": "Meeting link",
}
MEETING_LINK = "meeting_link"


def token(name: str, page_id: int | None = None) -> str:
    return "{{ " + name + (f":{page_id}" if page_id is not None else "") + " }}"


def unknown(text: str) -> list[str]:
    """The placeholders in `text` that are not in the vocabulary (as written)."""
    return [
        m.group(0)
        for m in PLACEHOLDER.finditer(text)
        if m.group(1) not in FIELDS or (m.group(2) and m.group(1) != MEETING_LINK)
    ]


def page_ids(text: str) -> set[int]:
    return {int(m.group(2)) for m in PLACEHOLDER.finditer(text) if m.group(2)}


@dataclass
class Filled:
    text: str
    problems: list[str] = field(default_factory=list)


def fill(text: str, values: dict[str, str], link: Callable[[int | None], str | None]) -> Filled:
    """Substitute every placeholder; `link(page_id)` resolves a meeting link (None for the
    default). Missing links are reported as problems and left as written."""
    problems: list[str] = []

    def replace(match: re.Match) -> str:
        name, page_id = match.group(1), match.group(2)
        if name == MEETING_LINK:
            url = link(int(page_id) if page_id else None)
            if url is None:
                problems.append(
                    "You have no default meeting link: choose one in Settings > General > Calendar."
                    if page_id is None
                    else "The scheduling page this template links to no longer exists."
                )
                return match.group(0)
            return url
        return values.get(name, match.group(0))

    return Filled(PLACEHOLDER.sub(replace, text), problems)
