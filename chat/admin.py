from django.contrib import admin

from chat.models import ChatProfile, ChatWidget, Conversation


@admin.register(ChatWidget)
class ChatWidgetAdmin(admin.ModelAdmin):
    list_display = ["account", "owner", "created_at"]
    search_fields = ["account__name"]
    readonly_fields = ["key"]


@admin.register(ChatProfile)
class ChatProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "display_name", "include_meeting_link", "meeting_page"]
    search_fields = ["user__email", "display_name"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["pk", "account", "visitor_label", "assignee", "last_message_at"]
    search_fields = ["account__name", "visitor_email", "visitor_name"]
    readonly_fields = ["visitor_hash"]
