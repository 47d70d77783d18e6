"""The chat part of the demo account (run by seed_demo through meetings.demo_hooks): the demo
admin's chat profile with the meeting link to /meetings/demo and, when `make run` serves one,
a small customer website on another origin that embeds the widget and the booking page."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from chat import services
from chat.models import ChatProfile
from meetings.demo_hooks import DemoContext


def seed(context: DemoContext) -> list[str]:
    admin, page = context.admin, context.page
    ChatProfile.objects.update_or_create(
        user=admin,
        defaults={
            "include_meeting_link": True,
            "meeting_page": page,
            "display_name": admin.display_name,
            "welcome_message": "Hi! Ask me anything, or book a call with me right here.",
        },
    )
    widget = services.widget_for(admin.account)
    if widget.owner_id is None:
        services.set_owner(widget, admin)
    lines = [f"Chat profile of {admin.email}: on, with a link to {page.name}"]
    if context.site_dir is None:
        return lines
    account = admin.account
    if context.site_origin not in account.embed_origins:
        account.embed_origins = [*account.embed_origins, context.site_origin]
        account.save(update_fields=["embed_origins"])
    site = {
        "loader_url": settings.APP_BASE_URL + reverse("chat_widget:loader"),
        "key": widget.key,
        "embed_url": f"{settings.APP_BASE_URL}/meetings/{page.slug}?embed=1",
        "app_origin": settings.APP_BASE_URL,
        "company": account.name,
    }
    context.site_dir.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "book.html"):
        html = render_to_string(f"chat/demo/{name}", site)
        (context.site_dir / name).write_text(html, encoding="utf-8")
    lines.append(f"Demo customer website (chat widget): {context.site_origin}/")
    lines.append(f"Demo customer website (embedded booking page): {context.site_origin}/book.html")
    return lines
