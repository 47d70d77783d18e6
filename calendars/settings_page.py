"""Settings > General > Calendar is composed of sections.

`calendars` owns the page and its connection section; apps above it in the layering
(meetings, chat) contribute their own sections by registering them here at start-up, so
this app never imports them. Saving validates every section first and then saves all of
them in one transaction: either every change applies or none does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django import forms

from scheduler.models import User


class Section(Protocol):
    key: str
    order: int
    template: str

    def form(self, user: User, data: dict | None) -> forms.Form | None:
        """The section's bound (data given) or unbound form; None to show nothing."""

    def save(self, user: User, form: forms.Form) -> None: ...


_SECTIONS: dict[str, Section] = {}


def register(section: Section) -> None:
    _SECTIONS[section.key] = section


def sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda section: section.order)


@dataclass
class BoundSection:
    section: Section
    form: forms.Form

    @property
    def template(self) -> str:
        return self.section.template


def bind(user: User, data: dict | None = None) -> list[BoundSection]:
    bound = []
    for section in sections():
        form = section.form(user, data)
        if form is not None:
            bound.append(BoundSection(section, form))
    return bound
