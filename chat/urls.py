from django.urls import path

from chat import views

app_name = "chat"
urlpatterns = [
    path("", views.conversations, name="conversations"),
    path("list/", views.conversation_list, name="conversation_list"),
    path("<int:conversation_id>/", views.conversation, name="conversation"),
    path("<int:conversation_id>/reply/", views.reply, name="reply"),
    path("<int:conversation_id>/messages/", views.conversation_messages, name="messages"),
    path("<int:conversation_id>/read/", views.conversation_read, name="read"),
]
