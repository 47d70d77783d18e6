"""Contacts list and contact record. Views parse and delegate to `crm.services`."""

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from crm import links, placeholders, record, sales_emails, services
from crm.forms import ContactForm, EmailTemplateForm, MeetingForm, SendEmailForm, TaskForm
from crm.models import Contact, EmailTemplate, Meeting, Task

PAGE_SIZE = 50


def _zone() -> ZoneInfo:
    """The signed-in user's zone, as the middleware activated it (UTC if theirs is unknown)."""
    return timezone.get_current_timezone()


# --- Contacts list ----------------------------------------------------------------------


@login_required
def contacts(request):
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.create_contact(
                request.user.account, owner=request.user, **form.cleaned_data
            )
        except services.DuplicateContact as exc:
            form.add_error("email", str(exc))
        else:
            messages.success(request, f"{contact.name} was added.")
            return redirect("crm:contact", contact.pk)
    query = request.GET.get("q", "").strip()
    page = Paginator(_search(request.user.account.contacts.all(), query), PAGE_SIZE)
    context = {"form": form, "query": query, "page": page.get_page(request.GET.get("page"))}
    return render(request, "crm/contacts.html", context, status=400 if form.errors else 200)


def _search(contacts: QuerySet[Contact], query: str) -> QuerySet[Contact]:
    """Every word must appear in the first name, last name or email ("ada love" finds
    Ada Lovelace)."""
    for word in query.split():
        contacts = contacts.filter(
            Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word)
        )
    return contacts.select_related("owner")


# --- Contact record ---------------------------------------------------------------------


def _contact(request, contact_id: int) -> Contact:
    return get_object_or_404(
        Contact.objects.select_related("owner"), pk=contact_id, account=request.user.account
    )


@login_required
def contact(request, contact_id: int):
    return _render_contact(request, _contact(request, contact_id))


def _render_contact(request, contact: Contact, meeting_form=None, task_form=None):
    now, zone = timezone.now(), _zone()
    meetings = contact.meetings.select_related("owner")
    tasks = contact.tasks.select_related("owner")
    context = {
        "contact": contact,
        "upcoming": meetings.filter(end__gt=now).order_by("start"),
        "past": meetings.filter(end__lte=now).order_by("-start"),
        "open_tasks": tasks.filter(status=Task.Status.OPEN).order_by("due_at", "pk"),
        "done_tasks": tasks.filter(status=Task.Status.COMPLETED).order_by("-completed_at"),
        "meeting_form": meeting_form or MeetingForm(zone=zone),
        "task_form": task_form or TaskForm(zone=zone),
        "invites": services.invitation_calendar(request.user) is not None,
        "emails": contact.emails.select_related("sender")[:50],
        "send_form": SendEmailForm(user=request.user),
        "panels": record.panels_for(contact, request.user),
    }
    failed = (meeting_form and meeting_form.errors) or (task_form and task_form.errors)
    return render(request, "crm/contact.html", context, status=400 if failed else 200)


@login_required
@require_POST
def meeting_create(request, contact_id: int):
    contact = _contact(request, contact_id)
    form = MeetingForm(request.POST, zone=_zone())
    if not form.is_valid():
        return _render_contact(request, contact, meeting_form=form)
    data = form.cleaned_data
    meeting = services.create_meeting(
        request.user,
        contacts=[contact],
        title=data["title"],
        start=data["start"],
        end=data["end"],
        description=data["description"],
    )
    if meeting.calendar_event_key:
        messages.success(request, f"Meeting scheduled; {contact.name} will get an invitation.")
    else:
        messages.success(request, "Meeting logged.")
    return redirect("crm:contact", contact.pk)


@login_required
@require_POST
def meeting_cancel(request, contact_id: int, meeting_id: int):
    contact = _contact(request, contact_id)
    # Only its owner cancels a meeting: a pushed one is withdrawn from their calendar.
    meeting = get_object_or_404(
        Meeting, pk=meeting_id, contacts=contact, owner=request.user, account=contact.account_id
    )
    services.cancel_meeting(meeting)
    messages.success(request, f"“{meeting.title}” was cancelled.")
    return redirect("crm:contact", contact.pk)


# --- Tasks ------------------------------------------------------------------------------


@login_required
@require_POST
def task_create(request, contact_id: int):
    contact = _contact(request, contact_id)
    form = TaskForm(request.POST, zone=_zone())
    if not form.is_valid():
        return _render_contact(request, contact, task_form=form)
    data = form.cleaned_data
    services.create_task(request.user, title=data["title"], contact=contact, due_at=data["due_at"])
    messages.success(request, "Task created.")
    return redirect("crm:contact", contact.pk)


def _task_action(action, message: str):
    """A POST-only view that applies `action` to one task of the contact."""

    @login_required
    @require_POST
    def view(request, contact_id: int, task_id: int):
        contact = _contact(request, contact_id)
        task = get_object_or_404(Task, pk=task_id, contact=contact, account=contact.account_id)
        if task.owner_id != request.user.pk and not request.user.is_account_admin:
            # A task may sit in its owner's calendar: only they (or an admin) change it.
            raise PermissionDenied("Only the task's owner can change it.")
        action(task)
        messages.success(request, message.format(title=task.title))
        return redirect("crm:contact", contact.pk)

    return view


task_complete = _task_action(services.complete_task, "“{title}” is done.")
task_reopen = _task_action(services.reopen_task, "“{title}” was reopened.")
task_delete = _task_action(services.delete_task, "“{title}” was deleted.")


# --- Sales email templates --------------------------------------------------------------


def _my_template(request, template_id: int) -> EmailTemplate:
    return get_object_or_404(
        EmailTemplate, pk=template_id, owner=request.user, account=request.user.account
    )


@login_required
def email_templates(request):
    templates = EmailTemplate.objects.filter(owner=request.user)
    return render(request, "crm/email_templates.html", {"templates": templates})


@login_required
def email_template_edit(request, template_id: int | None = None):
    template = _my_template(request, template_id) if template_id else None
    form = EmailTemplateForm(request.POST or None, instance=template, user=request.user)
    if request.method == "POST" and form.is_valid():
        template = form.save(commit=False)
        if template.pk is None:
            template.owner, template.account = request.user, request.user.account
        template.save()
        messages.success(request, f"Template “{template.name}” was saved.")
        return redirect("crm:email_templates")
    provider = links.provider()
    context = {
        "form": form,
        "template": template,
        "fields": [
            (placeholders.token(name), label)
            for name, label in placeholders.FIELDS.items()
            if name != placeholders.MEETING_LINK  # it has its own section
        ],
        "meeting_link": placeholders.token(placeholders.MEETING_LINK),
        "default_link": provider.default_link(request.user),
        "pages": [
            (placeholders.token(placeholders.MEETING_LINK, pk), label)
            for pk, label in provider.choices(request.user)
        ],
    }
    status = 400 if form.errors else 200
    return render(request, "crm/email_template_form.html", context, status=status)


@login_required
@require_POST
def email_template_delete(request, template_id: int):
    template = _my_template(request, template_id)
    template.delete()
    messages.success(request, f"Template “{template.name}” was deleted.")
    return redirect("crm:email_templates")


@login_required
def email_preview(request, contact_id: int):
    """The templated email as it would go out to this contact, with a Send button."""
    contact = _contact(request, contact_id)
    form = SendEmailForm(request.GET or None, user=request.user)
    if not form.is_valid():
        return render(
            request, "crm/email_preview.html", {"contact": contact, "form": form}, status=400
        )
    template = form.cleaned_data["template"]
    rendered = sales_emails.render(template, contact, request.user)
    context = {"contact": contact, "form": form, "template": template, "email": rendered}
    return render(request, "crm/email_preview.html", context)


@login_required
@require_POST
def email_send(request, contact_id: int):
    contact = _contact(request, contact_id)
    form = SendEmailForm(request.POST, user=request.user)
    if not form.is_valid():
        return render(
            request, "crm/email_preview.html", {"contact": contact, "form": form}, status=400
        )
    template = form.cleaned_data["template"]
    try:
        sales_emails.send_templated_email(request.user, contact, template)
    except sales_emails.CannotSend:
        rendered = sales_emails.render(template, contact, request.user)
        context = {"contact": contact, "form": form, "template": template, "email": rendered}
        return render(request, "crm/email_preview.html", context, status=400)
    messages.success(request, f"Email “{template.name}” is on its way to {contact.email}.")
    return redirect("crm:contact", contact.pk)
