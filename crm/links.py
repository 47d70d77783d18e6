"""Meeting links for sales emails, without crm importing meetings (meetings is above crm).

`meetings` registers a provider at start-up (MeetingsConfig.ready); crm asks it for the
user's default meeting link, a chosen page's link, and the pages a user may link to. Links
are resolved when an email is sent, so they follow the page's current address (meeting
domain, slug).
"""

from __future__ import annotations

from typing import Protocol

from scheduler.models import User


class MeetingLinkProvider(Protocol):
    def default_link(self, user: User) -> str | None:
        """The URL of the user's default meeting link page, or None when none is chosen."""

    def page_link(self, user: User, page_id: int) -> str | None:
        """The URL of a page of the user's account, or None when there is no such page."""

    def choices(self, user: User) -> list[tuple[int, str]]:
        """(page id, label) of the pages the user may link to."""


class _NoPages:
    def default_link(self, user):
        return None

    def page_link(self, user, page_id):
        return None

    def choices(self, user):
        return []


_provider: MeetingLinkProvider = _NoPages()


def register(provider: MeetingLinkProvider) -> None:
    global _provider
    _provider = provider


def provider() -> MeetingLinkProvider:
    return _provider
