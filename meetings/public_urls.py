from django.urls import path

from meetings import public_views, visitor

app_name = "public"
urlpatterns = [
    path("manage/<str:token>/", public_views.manage, name="manage"),
    path("manage/<str:token>/meeting.ics", public_views.manage_ics, name="manage_ics"),
    path("manage/<str:token>/cancel", public_views.manage_cancel, name="manage_cancel"),
    path("manage/<str:token>/reschedule", public_views.manage_reschedule, name="manage_reschedule"),
    path(
        "manage/<str:token>/accept",
        public_views.manage_accept_proposal,
        name="manage_accept_proposal",
    ),
    path("<str:slug>", public_views.page, name="page"),
    path("<str:slug>/slots", public_views.slot_list, name="slots"),
    path("<str:slug>/book", public_views.book, name="book"),
    path("<str:slug>/forget", visitor.forget, name="forget"),
]
