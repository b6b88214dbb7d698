"""Routes of the needs app: see the module of the same name without `urls_`."""

from django.urls import URLPattern, path

from handsup.needs import views_people_page

PEOPLE = "groups/manage/<str:public_id>/needs/<str:need_id>/people/"

urlpatterns: list[URLPattern] = [
    path(PEOPLE, views_people_page.need_people, name="people"),
    path(
        PEOPLE + "<str:invitation_id>/offer/",
        views_people_page.answer_offer,
        name="offer_answer",
    ),
    path(
        PEOPLE + "<str:invitation_id>/outcome/",
        views_people_page.record_outcome,
        name="outcome",
    ),
    path(
        PEOPLE + "<str:invitation_id>/hours/",
        views_people_page.log_hours_for,
        name="log_hours_for",
    ),
]
