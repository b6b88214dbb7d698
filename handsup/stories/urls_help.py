"""Help to tell a story, and support from the centre (views_help)."""

from django.urls import path

from handsup.stories import views_help

urlpatterns = [
    path("stories/<str:public_id>/help/", views_help.help_need, name="help_need"),
    path("stories/<str:public_id>/help/credit/", views_help.help_credit, name="help_credit"),
    path("stories/<str:public_id>/help/result/", views_help.help_result, name="help_result"),
    path("stories/<str:public_id>/support/", views_help.support_new, name="support_new"),
    path("stories/support/<str:public_id>/", views_help.support_status, name="support_status"),
    path("curate/support/", views_help.support_queue, name="support_queue"),
    path(
        "curate/support/<str:public_id>/decide/",
        views_help.support_decide,
        name="support_decide",
    ),
]
