from django.urls import path, register_converter

from meetings import public_views, visitor


class PageSlug:
    """A page slug as pages can have one (case aside); anything else is a 404 here."""

    regex = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,98}[A-Za-z0-9])?"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ManageToken(PageSlug):
    """A manage link's token: secrets.token_urlsafe(32)."""

    regex = "[A-Za-z0-9_-]{16,64}"


register_converter(PageSlug, "pageslug")
register_converter(ManageToken, "token")

app_name = "public"
urlpatterns = [
    path("manage/<token:token>/", public_views.manage, name="manage"),
    path("manage/<token:token>/meeting.ics", public_views.manage_ics, name="manage_ics"),
    path("manage/<token:token>/cancel", public_views.manage_cancel, name="manage_cancel"),
    path(
        "manage/<token:token>/reschedule", public_views.manage_reschedule, name="manage_reschedule"
    ),
    path(
        "manage/<token:token>/accept",
        public_views.manage_accept_proposal,
        name="manage_accept_proposal",
    ),
    path("<pageslug:slug>", public_views.page, name="page"),
    path("<pageslug:slug>/slots", public_views.slot_list, name="slots"),
    path("<pageslug:slug>/book", public_views.book, name="book"),
    path("<pageslug:slug>/forget", visitor.forget, name="forget"),
]
