from django.urls import path

from meetings import views

app_name = "meetings"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("pages/new/", views.page_edit, name="page_new"),
    path("pages/<int:page_id>/", views.page_edit, name="page_edit"),
    path("pages/<int:page_id>/why/", views.page_why, name="page_why"),
    path("pages/<int:page_id>/toggle/", views.page_toggle, name="page_toggle"),
    path("pages/<int:page_id>/duplicate/", views.page_duplicate, name="page_duplicate"),
    path("pages/<int:page_id>/delete/", views.page_delete, name="page_delete"),
    path("pages/<int:page_id>/distribution/", views.page_distribution, name="page_distribution"),
    path("requests/<int:booking_id>/", views.request_detail, name="request"),
    path(
        "requests/meeting/<int:meeting_id>/",
        views.request_for_meeting,
        name="request_for_meeting",
    ),
]
