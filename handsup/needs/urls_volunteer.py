"""Routes of the needs app: see the module of the same name without `urls_`."""

from django.urls import URLPattern, path

from handsup.needs import views_volunteer

urlpatterns: list[URLPattern] = [
    path("needs/", views_volunteer.for_me, name="for_me"),
    path("needs/<str:public_id>/offer/", views_volunteer.offer, name="offer"),
    path("me/needs/", views_volunteer.my_needs, name="my_needs"),
    path("me/needs/calendar.ics", views_volunteer.calendar, name="calendar"),
    path(
        "me/needs/<str:invitation_id>/hours/",
        views_volunteer.log_my_hours,
        name="log_my_hours",
    ),
]
