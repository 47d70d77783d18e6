"""seed_demo turns the demo admin's chat on and writes the demo customer website."""

from io import StringIO

from django.core.management import call_command

from chat.models import ChatProfile, ChatWidget
from meetings.management.commands.seed_demo import DEMO_EMAIL
from scheduler.models import User


def test_seed_demo_turns_the_chat_on_and_writes_the_website(db, tmp_path, settings):
    settings.CALENDAR_SANDBOX_URL = ""
    site = tmp_path / "site"
    for _ in range(2):  # safe to re-run
        out = StringIO()
        call_command(
            "seed_demo",
            "--demo-site",
            str(site),
            "--demo-site-origin",
            "http://localhost:9",
            stdout=out,
        )
    admin = User.objects.get(email=DEMO_EMAIL)
    profile = ChatProfile.objects.get(user=admin)
    assert profile.include_meeting_link and profile.meeting_page.slug == "demo"
    widget = ChatWidget.objects.get(account=admin.account)
    assert widget.owner == admin
    assert admin.account.embed_origins == ["http://localhost:9"]
    index = (site / "index.html").read_text()
    assert f'data-key="{widget.key}"' in index and "/chat/widget.js" in index
    assert "/meetings/demo?embed=1" in (site / "book.html").read_text()
    assert "Demo customer website (chat widget): http://localhost:9/" in out.getvalue()
