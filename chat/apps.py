from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from calendars import settings_page
        from chat.settings_section import ChatProfileSection

        settings_page.register(ChatProfileSection())
