"""Panels other apps add to the contact record, without crm importing them.

An app above crm in the layering (chat: the contact's conversations) registers a panel at
start-up (its AppConfig.ready); the contact record asks every panel for its context and
includes its template. A panel with nothing to say returns None and is not shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from crm.models import Contact
from scheduler.models import User


class Panel(Protocol):
    key: str
    order: int
    template: str

    def context(self, contact: Contact, user: User) -> dict | None:
        """The template's context for this contact as `user` sees it; None to hide it."""


@dataclass
class BoundPanel:
    template: str
    context: dict


_PANELS: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    _PANELS[panel.key] = panel


def panels_for(contact: Contact, user: User) -> list[BoundPanel]:
    bound = []
    for panel in sorted(_PANELS.values(), key=lambda panel: panel.order):
        context = panel.context(contact, user)
        if context is not None:
            bound.append(BoundPanel(panel.template, context))
    return bound
