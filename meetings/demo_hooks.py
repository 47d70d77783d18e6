"""Parts of the demo account that apps above meetings add (the chat widget and the demo
customer website), without meetings importing them: an app registers a seeder at start-up
(its AppConfig.ready) and `seed_demo` runs every seeder after its own work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from meetings.models import SchedulingPage
from scheduler.models import User


@dataclass(frozen=True)
class DemoContext:
    admin: User
    page: SchedulingPage  # the demo admin's one-on-one page, /meetings/demo
    site_dir: Path | None  # where to write the demo customer website, if one is served
    site_origin: str  # the origin that website is served on


Seeder = Callable[[DemoContext], list[str]]  # returns lines to print
_SEEDERS: dict[str, Seeder] = {}


def register(name: str, seeder: Seeder) -> None:
    _SEEDERS[name] = seeder


def run(context: DemoContext) -> list[str]:
    lines = []
    for seeder in _SEEDERS.values():
        lines += seeder(context)
    return lines
