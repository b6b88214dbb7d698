"""Routes of the needs app: see the module of the same name without `urls_`."""

from django.urls import URLPattern, path

from handsup.needs import views_asks

urlpatterns: list[URLPattern] = [
    path(
        "groups/manage/<str:public_id>/needs/<str:need_id>/invite/",
        views_asks.invite,
        name="invite",
    ),
    path(
        "groups/manage/<str:public_id>/needs/<str:need_id>/invite/send/",
        views_asks.invite_send,
        name="invite_send",
    ),
    path("groups/manage/<str:public_id>/relay/", views_asks.relay_list, name="relay"),
    path(
        "groups/manage/<str:public_id>/relay/<str:invitation_id>/",
        views_asks.relay_answer,
        name="relay_answer",
    ),
]
