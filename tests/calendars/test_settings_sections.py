"""The meetings and chat sections of Settings > General > Calendar."""

from meetings import urlrules
from meetings.models import SchedulingPage
from scheduler.models import Tier

SETTINGS_URL = "/app/settings/general/calendar/"


def _post(client, **fields):
    data = {"meetings-pages_enabled": "on", **fields}
    return client.post(SETTINGS_URL, data)


def _page(user, name):
    return SchedulingPage.objects.create(
        account=user.account, owner=user, name=name, slug=urlrules.new_page_slug(user, name)
    )


def test_changing_the_meeting_url_keeps_existing_page_urls(admin_client, admin_user):
    first = _page(admin_user, "Intro")
    old_slug = first.slug
    response = _post(admin_client, **{"meetings-url_prefix": "ada-sales"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.slug == old_slug  # existing pages keep their URL
    second = _page(admin_user, "Demo")
    assert second.slug == "ada-sales"  # new pages take the new prefix
    third = _page(admin_user, "Follow up")
    assert third.slug == "ada-sales-follow-up"


def test_meeting_url_editing_needs_starter(admin_client, admin_user):
    account = admin_user.account
    account.sales_tier = account.service_tier = Tier.FREE
    account.save()
    before = urlrules.settings_for(admin_user).url_prefix
    response = _post(admin_client, **{"meetings-url_prefix": "new-prefix"})
    assert response.status_code == 400
    assert "Starter plan" in response.content.decode()
    admin_user.meeting_settings.refresh_from_db()
    assert admin_user.meeting_settings.url_prefix == before


def test_a_taken_or_malformed_meeting_url_is_a_field_error(admin_client, make_user):
    other = make_user("other@elsewhere.example")
    urlrules.settings_for(other).url_prefix = "taken"
    other.meeting_settings.url_prefix = "taken"
    other.meeting_settings.save()
    assert (
        "already taken" in _post(admin_client, **{"meetings-url_prefix": "taken"}).content.decode()
    )
    bad = _post(admin_client, **{"meetings-url_prefix": "-Bad Prefix!"})
    assert bad.status_code == 400 and "lower-case letters" in bad.content.decode()


def test_settings_save_is_all_or_nothing(admin_client, admin_user):
    """A bad chat section leaves the valid meetings section unsaved too."""
    before = urlrules.settings_for(admin_user).url_prefix
    response = _post(
        admin_client, **{"meetings-url_prefix": "fresh-prefix", "chat-include_meeting_link": "on"}
    )
    assert response.status_code == 400
    assert "Choose which scheduling page" in response.content.decode()
    admin_user.meeting_settings.refresh_from_db()
    assert admin_user.meeting_settings.url_prefix == before


def test_default_link_and_chat_page_only_offer_the_users_own_pages(
    admin_client, admin_user, make_user
):
    mine = _page(admin_user, "Mine")
    stranger = make_user("s@other.example")
    theirs = _page(stranger, "Theirs")
    response = _post(
        admin_client,
        **{
            "meetings-url_prefix": urlrules.settings_for(admin_user).url_prefix,
            "meetings-default_page": theirs.pk,
        },
    )
    assert response.status_code == 400
    response = _post(
        admin_client,
        **{
            "meetings-url_prefix": admin_user.meeting_settings.url_prefix,
            "meetings-default_page": mine.pk,
            "chat-include_meeting_link": "on",
            "chat-meeting_page": mine.pk,
        },
    )
    assert response.status_code == 302
    admin_user.meeting_settings.refresh_from_db()
    assert admin_user.meeting_settings.default_page == mine
    assert admin_user.chat_profile.meeting_page == mine


def test_scheduling_pages_can_be_turned_off_and_on(admin_client, admin_user):
    prefix = urlrules.settings_for(admin_user).url_prefix
    admin_client.post(SETTINGS_URL, {"meetings-url_prefix": prefix})
    admin_user.meeting_settings.refresh_from_db()
    assert not admin_user.meeting_settings.pages_enabled
    _post(admin_client, **{"meetings-url_prefix": prefix})
    admin_user.meeting_settings.refresh_from_db()
    assert admin_user.meeting_settings.pages_enabled
