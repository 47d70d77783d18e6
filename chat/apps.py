from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from calendars import settings_page
        from chat import demo
        from chat.panels import ConversationsPanel
        from chat.settings_section import ChatProfileSection
        from crm import record
        from meetings import demo_hooks

        settings_page.register(ChatProfileSection())
        record.register(ConversationsPanel())
        demo_hooks.register("chat", demo.seed)
