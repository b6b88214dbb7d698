"""Routes of the needs app: see the module of the same name without `urls_`."""

from django.urls import URLPattern, path

from handsup.needs import views_answers

urlpatterns: list[URLPattern] = [
    path("needs/<str:public_id>/answer/", views_answers.answer, name="answer"),
    path("me/introductions/", views_answers.my_grants, name="my_grants"),
    path(
        "me/introductions/<str:invitation_id>/revoke/",
        views_answers.revoke_grant,
        name="revoke_grant",
    ),
    path(
        "me/introductions/<str:invitation_id>/renew/",
        views_answers.renew_grant,
        name="renew_grant",
    ),
]
