from django.urls import path

from crm import views

app_name = "crm"
urlpatterns = [
    path("", views.contacts, name="contacts"),
    path("<int:contact_id>/", views.contact, name="contact"),
    path("<int:contact_id>/email/", views.email_preview, name="email_preview"),
    path("<int:contact_id>/email/send/", views.email_send, name="email_send"),
    path("templates/", views.email_templates, name="email_templates"),
    path("templates/new/", views.email_template_edit, name="email_template_new"),
    path("templates/<int:template_id>/", views.email_template_edit, name="email_template_edit"),
    path(
        "templates/<int:template_id>/delete/",
        views.email_template_delete,
        name="email_template_delete",
    ),
    path("<int:contact_id>/meetings/", views.meeting_create, name="meeting_create"),
    path(
        "<int:contact_id>/meetings/<int:meeting_id>/cancel/",
        views.meeting_cancel,
        name="meeting_cancel",
    ),
    path("<int:contact_id>/tasks/", views.task_create, name="task_create"),
    path(
        "<int:contact_id>/tasks/<int:task_id>/complete/",
        views.task_complete,
        name="task_complete",
    ),
    path("<int:contact_id>/tasks/<int:task_id>/reopen/", views.task_reopen, name="task_reopen"),
    path("<int:contact_id>/tasks/<int:task_id>/delete/", views.task_delete, name="task_delete"),
]
