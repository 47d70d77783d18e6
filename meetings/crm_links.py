"""Meeting links for the CRM's sales emails (registered with crm.links at start-up)."""

from django.db.models import Q

from meetings import urlrules
from meetings.models import SchedulingPage


class SchedulingPageLinks:
    def default_link(self, user) -> str | None:
        page = urlrules.settings_for(user).default_page
        return urlrules.page_url(page) if page is not None else None

    def page_link(self, user, page_id: int) -> str | None:
        page = SchedulingPage.objects.filter(pk=page_id, account_id=user.account_id).first()
        return urlrules.page_url(page) if page is not None else None

    def choices(self, user) -> list[tuple[int, str]]:
        pages = SchedulingPage.objects.filter(Q(owner=user) | Q(members=user)).distinct()
        return [(page.pk, f"{page.name} ({urlrules.page_url(page)})") for page in pages]
