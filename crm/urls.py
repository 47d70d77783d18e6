from django.urls import path

from crm import views

app_name = "crm"
urlpatterns = [
    path("", views.contacts, name="contacts"),
    path("<int:contact_id>/", views.contact, name="contact"),
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
