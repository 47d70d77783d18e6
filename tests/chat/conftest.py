import json

import pytest
from django.urls import reverse

from chat import services
from chat.models import ChatProfile
from tests.calendars.conftest import connect_google, google_mailbox  # noqa: F401
from tests.meetings.conftest import (  # noqa: F401
    EVERY_DAY,
    connection,
    live_page,
    make_page,
    offline_page,
)

WEBSITE = "https://www.acme.example"


class WidgetVisitor:
    """A chat visitor's browser, as the widget's frame talks to the app: same-origin JSON
    calls with the visitor id in a header once the app has handed one out."""

    def __init__(self, client, key: str, visitor_id: str | None = None, **headers):
        self.client, self.key, self.visitor_id = client, key, visitor_id
        self.headers = {"HTTP_ORIGIN": "http://testserver", "HTTP_SEC_FETCH_SITE": "same-origin"}
        self.headers.update(headers)

    def url(self, name: str, *args) -> str:
        return reverse(f"chat_widget:{name}", args=[self.key, *args])

    def _headers(self) -> dict:
        headers = dict(self.headers)
        if self.visitor_id:
            headers["HTTP_X_CHAT_VISITOR"] = self.visitor_id
        return headers

    def post(self, name: str, payload=None, *, raw: str | None = None, args=()):
        body = raw if raw is not None else json.dumps(payload or {})
        response = self.client.post(
            self.url(name, *args), body, content_type="application/json", **self._headers()
        )
        if response.headers.get("Content-Type", "").startswith("application/json"):
            visitor = response.json().get("visitor") if response.content else None
            if visitor:
                self.visitor_id = visitor
        return response

    def send(self, text: str, **extra):
        return self.post("messages", {"body": text, **extra})

    def poll(self, after: int = 0):
        return self.client.get(
            self.url("messages"), {"after": after} if after is not None else {}, **self._headers()
        )


@pytest.fixture
def widget(admin_user):
    admin_user.account.embed_origins = [WEBSITE]
    admin_user.account.save()
    return services.widget_for(admin_user.account)


@pytest.fixture
def visitor(client, widget) -> WidgetVisitor:
    return WidgetVisitor(client, widget.key)


@pytest.fixture
def chat_profile(admin_user):
    return ChatProfile.objects.create(
        user=admin_user, display_name="Ada from Acme", welcome_message="Ask us anything!"
    )
