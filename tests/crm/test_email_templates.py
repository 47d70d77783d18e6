"""Sales email templates with placeholders and the meeting link, sent from a contact record."""

import pytest
from django.core import mail

from crm.models import Contact, EmailTemplate, SentEmail
from meetings.models import MeetingSettings, SchedulingPage
from scheduler.models import Domain

BODY = (
    "Hi {{ contact.first_name }},\n\nHow is {{ contact.company }} doing? Pick a time: "
    "{{ meeting_link }}\n\n{{ owner.name }}"
)


@pytest.fixture
def page(admin_user):
    return SchedulingPage.objects.create(
        account=admin_user.account, owner=admin_user, name="Intro call", slug="ada-intro"
    )


@pytest.fixture
def default_link(admin_user, page, settings):
    settings.APP_BASE_URL = "https://app.meetings.test"
    return MeetingSettings.objects.create(user=admin_user, url_prefix="ada", default_page=page)


@pytest.fixture
def contact(admin_user):
    return Contact.objects.create(
        account=admin_user.account,
        email="cora@client.example",
        first_name="Cora",
        last_name="Contact",
        company="Client Corp",
        owner=admin_user,
    )


@pytest.fixture
def template(admin_user):
    return EmailTemplate.objects.create(
        account=admin_user.account,
        owner=admin_user,
        name="Intro",
        subject="Hello {{ contact.first_name }}",
        body=BODY,
    )


def test_an_owner_creates_edits_and_deletes_a_template(admin_client, page, default_link):
    form = admin_client.get("/app/contacts/templates/new/").content.decode()
    assert "Insert meeting link" in form and "https://app.meetings.test/meetings/ada-intro" in form
    assert "{{ meeting_link:" + str(page.pk) + " }}" in form  # the page chooser
    response = admin_client.post(
        "/app/contacts/templates/new/", {"name": "Intro", "subject": "Hi", "body": BODY}
    )
    assert response.status_code == 302
    template = EmailTemplate.objects.get()
    assert template.body == BODY.replace("\n", "\r\n") or template.body == BODY
    admin_client.post(
        f"/app/contacts/templates/{template.pk}/",
        {"name": "Intro v2", "subject": "Hi", "body": "{{ meeting_link:" + str(page.pk) + " }}"},
    )
    template.refresh_from_db()
    assert template.name == "Intro v2"
    assert "Intro v2" in admin_client.get("/app/contacts/templates/").content.decode()
    admin_client.post(f"/app/contacts/templates/{template.pk}/delete/")
    assert not EmailTemplate.objects.exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("Hi {{ contact.email_password }}", "Unknown placeholder {{ contact.email_password }}"),
        ("{{ request.user }}", "Unknown placeholder {{ request.user }}"),
        ("{{ contact.first_name:4 }}", "Unknown placeholder"),
        ("{{ meeting_link:999999 }}", "is not one of your scheduling pages"),
        ("", "This field is required"),
    ],
)
def test_bad_templates_get_a_400_with_the_reason(admin_client, body, error):
    response = admin_client.post(
        "/app/contacts/templates/new/", {"name": "X", "subject": "Hi", "body": body}
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_template_text_is_never_rendered_as_a_django_template(
    admin_user, contact, template, default_link
):
    from crm import sales_emails

    template.body = (
        "{% load static %}{% debug %}{{ contact.first_name|upper }} {{ contact.first_name }}"
    )
    rendered = sales_emails.render(template, contact, admin_user)
    assert rendered.body == "{% load static %}{% debug %}{{ contact.first_name|upper }} Cora"


def test_preview_then_send_logs_the_email_on_the_contact(
    admin_client, admin_user, contact, template, default_link, page,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    preview = admin_client.get(f"/app/contacts/{contact.pk}/email/", {"template": template.pk})
    text = preview.content.decode()
    assert preview.status_code == 200
    assert "Hello Cora" in text and "How is Client Corp doing?" in text
    assert "https://app.meetings.test/meetings/ada-intro" in text

    # The meeting domain changes after the template was written: the link follows it.
    domain = Domain.objects.create(
        account=admin_user.account, hostname="meet.acme.example", verified=True
    )
    MeetingSettings.objects.filter(user=admin_user).update(domain=domain)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/app/contacts/{contact.pk}/email/send/", {"template": template.pk}
        )
    assert response.status_code == 302
    (sent,) = mail.outbox
    assert sent.to == ["cora@client.example"] and sent.reply_to == [admin_user.email]
    assert sent.subject == "Hello Cora"
    assert "https://meet.acme.example/meetings/ada-intro" in sent.body
    assert admin_user.display_name in sent.body
    logged = SentEmail.objects.get()
    assert logged.status == "sent" and logged.contact == contact and logged.body == sent.body
    record = admin_client.get(f"/app/contacts/{contact.pk}/").content.decode()
    assert "Hello Cora" in record and "Sent" in record


def test_without_a_default_meeting_link_the_email_is_not_sent(
    admin_client, contact, template, django_capture_on_commit_callbacks
):
    preview = admin_client.get(f"/app/contacts/{contact.pk}/email/", {"template": template.pk})
    assert "You have no default meeting link" in preview.content.decode()
    assert "Send email" not in preview.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/app/contacts/{contact.pk}/email/send/", {"template": template.pk}
        )
    assert response.status_code == 400
    assert not mail.outbox and not SentEmail.objects.exists()


def test_a_mail_server_that_keeps_failing_marks_the_email_not_sent(
    admin_user, contact, template, default_link, settings, django_capture_on_commit_callbacks
):
    import socket

    from crm import sales_emails

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    from scheduler import mail as outbox

    with django_capture_on_commit_callbacks(execute=False) as queued:
        email = sales_emails.send_templated_email(admin_user, contact, template)
    assert len(queued) == 1 and SentEmail.objects.get().status == "queued"
    # Each attempt fails and is retried later with backoff (a worker waits; here each retry
    # is run at once); the last one marks it "not sent" on the timeline.
    assert outbox.send(email.outgoing_id) == "retrying"
    assert SentEmail.objects.get().status == "queued"
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        outbox.send(email.outgoing_id)
    logged = SentEmail.objects.get()
    assert logged.status == "failed" and "refused" in logged.error.lower()


def test_templates_and_contacts_of_others_are_out_of_reach(
    client, admin_user, make_user, contact, template
):
    colleague = make_user("colleague@acme.example", admin_user.account)
    stranger = make_user("someone@other.example")
    client.force_login(colleague)
    assert client.get(f"/app/contacts/templates/{template.pk}/").status_code == 404
    assert client.post(f"/app/contacts/templates/{template.pk}/delete/").status_code == 404
    assert "Intro" not in client.get("/app/contacts/templates/").content.decode()
    # A colleague cannot send someone else's template, even to a shared contact.
    response = client.post(f"/app/contacts/{contact.pk}/email/send/", {"template": template.pk})
    assert response.status_code == 400
    client.force_login(stranger)
    assert client.get(f"/app/contacts/{contact.pk}/email/", {"template": 1}).status_code == 404
    assert client.post(f"/app/contacts/{contact.pk}/email/send/").status_code == 404
    assert EmailTemplate.objects.count() == 1 and not SentEmail.objects.exists()


def test_a_contact_has_a_company(admin_client):
    admin_client.post(
        "/app/contacts/",
        {"email": "dan@client.example", "first_name": "Dan", "company": "Client Corp"},
    )
    assert Contact.objects.get().company == "Client Corp"
