"""Sales emails: templates with placeholders, sent to a contact from their record.

An email is filled in when the user sends it (meeting links resolved to the page's current
address), stored as a SentEmail on the contact's timeline in the same transaction, and
sent through the mail outbox (scheduler.mail): after commit, retried with backoff.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from crm import links, placeholders
from crm.models import Contact, EmailTemplate, SentEmail
from scheduler import mail
from scheduler.models import User


class CannotSend(ValueError):
    """The email cannot be sent as it is (the reasons are in `problems`)."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclass
class Rendered:
    subject: str
    body: str
    problems: list[str]


def values_for(contact: Contact, sender: User) -> dict[str, str]:
    owner = contact.owner or sender
    return {
        "contact.first_name": contact.first_name,
        "contact.last_name": contact.last_name,
        "contact.company": contact.company,
        "owner.name": owner.display_name,
    }


def render(template: EmailTemplate, contact: Contact, sender: User) -> Rendered:
    """The email as it would go out now."""
    provider = links.provider()

    def link(page_id: int | None) -> str | None:
        if page_id is None:
            return provider.default_link(sender)
        return provider.page_link(sender, page_id)

    values = values_for(contact, sender)
    subject = placeholders.fill(template.subject, values, link)
    body = placeholders.fill(template.body, values, link)
    problems = list(dict.fromkeys(subject.problems + body.problems))
    return Rendered(" ".join(subject.text.split()), body.text, problems)


def send_templated_email(sender: User, contact: Contact, template: EmailTemplate) -> SentEmail:
    """Queue the email for the contact and log it on their timeline; CannotSend when a
    placeholder cannot be filled (e.g. no default meeting link)."""
    if not (sender.account_id == contact.account_id == template.account_id):
        raise ValueError("The contact and the template must belong to the sender's account.")
    rendered = render(template, contact, sender)
    if rendered.problems:
        raise CannotSend(rendered.problems)
    with transaction.atomic():
        outgoing = mail.queue(
            contact.email,
            rendered.subject[:255],
            rendered.body,
            kind="crm.sales_email",
            reply_to=sender.email,
        )
        return SentEmail.objects.create(
            account_id=sender.account_id,
            contact=contact,
            sender=sender,
            template=template,
            to_email=contact.email,
            subject=rendered.subject[:255],
            body=rendered.body,
            outgoing=outgoing,
        )
