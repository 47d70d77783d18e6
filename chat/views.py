"""The team's side: the conversations inbox and Settings > Chat widget.

Every member of an account reads and answers the account's conversations (a shared inbox);
another account's conversation is a 404, whatever its id.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from chat import services
from chat.forms import AfterForm, ReadForm, ReplyForm, WidgetSettingsForm
from chat.models import Conversation
from chat.payloads import message_json
from meetings import urlrules
from meetings.models import SchedulingPage
from scheduler.csp import allow_images
from scheduler.permissions import account_admin_required

LIST_SIZE = 100


def _conversation(request, conversation_id: int) -> Conversation:
    return get_object_or_404(
        Conversation.objects.select_related("contact", "assignee"),
        pk=conversation_id,
        account=request.user.account,
    )


def _listing(request) -> list[Conversation]:
    return list(services.inbox(request.user.account)[:LIST_SIZE])


@login_required
@require_GET
def conversations(request):
    context = {
        "conversations": _listing(request),
        "widget": services.widget_for(request.user.account),
    }
    return render(request, "chat/conversations.html", context)


@login_required
@require_GET
def conversation_list(request):
    """The list alone, for the inbox to refresh itself."""
    context = {"conversations": _listing(request), "current_id": _int(request.GET.get("current"))}
    return render(request, "chat/_conversation_list.html", context)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@require_GET
def conversation(request, conversation_id: int):
    return _render_conversation(request, _conversation(request, conversation_id))


def _render_conversation(request, conversation: Conversation, form=None, status=200):
    rows = services.messages_after(conversation)
    if rows and status == 200:
        services.mark_read_by_team(conversation, rows[-1].pk)
    context = {
        "conversation": conversation,
        "chat_messages": rows,
        "last_id": rows[-1].pk if rows else 0,
        "form": form or ReplyForm(),
        "conversations": _listing(request),
        "current_id": conversation.pk,
    }
    return render(request, "chat/conversations.html", context, status=status)


@login_required
@require_POST
def reply(request, conversation_id: int):
    conversation = _conversation(request, conversation_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _render_conversation(request, conversation, form, status=400)
    services.post_reply(conversation, request.user, form.cleaned_data["body"])
    return redirect(reverse("chat:conversation", args=[conversation.pk]) + "#reply")


@login_required
@require_GET
def conversation_messages(request, conversation_id: int):
    """New messages of an open conversation, for the inbox to show them as they come."""
    conversation = _conversation(request, conversation_id)
    form = AfterForm(request.GET)
    if not form.is_valid():
        fields = {name: errors[0] for name, errors in form.errors.items()}
        return JsonResponse({"error": "Some fields are not valid.", "errors": fields}, status=400)
    rows = services.messages_after(conversation, form.cleaned_data["after"] or 0)
    return JsonResponse({"messages": [message_json(message) for message in rows]})


@login_required
@require_POST
def conversation_read(request, conversation_id: int):
    conversation = _conversation(request, conversation_id)
    form = ReadForm(request.POST)
    if not form.is_valid():
        fields = {name: errors[0] for name, errors in form.errors.items()}
        return JsonResponse({"error": "Some fields are not valid.", "errors": fields}, status=400)
    services.mark_read_by_team(conversation, form.cleaned_data["upto"])
    return HttpResponse(status=204)


# --- Settings > Chat widget -------------------------------------------------------------


@account_admin_required
def widget_settings(request):
    widget = services.widget_for(request.user.account)
    form = WidgetSettingsForm(request.POST or None, widget=widget)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            services.set_owner(widget, form.cleaned_data["owner"])
            account = widget.account
            account.embed_origins = form.cleaned_data["embed_origins"]
            account.save(update_fields=["embed_origins"])
        flash.success(request, "Chat widget settings were saved.")
        return redirect("chat_settings:widget")
    profile = services.profile_of(widget.owner)
    pages = SchedulingPage.objects.filter(account=widget.account).select_related("owner")
    context = {
        "form": form,
        "widget": widget,
        "profile": profile,
        "loader_url": settings.APP_BASE_URL + reverse("chat_widget:loader"),
        "embeds": [(page, urlrules.page_url(page) + "?embed=1") for page in pages],
        "origins": widget.account.embed_origins,
    }
    response = render(
        request, "chat/widget_settings.html", context, status=400 if form.errors else 200
    )
    if profile is not None and profile.photo_url:
        allow_images(response, [profile.photo_url])
    return response
