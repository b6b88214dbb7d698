from django.urls import path

from handsup.needs import urls_answers, urls_asks, urls_people_page, urls_volunteer, views

app_name = "needs"
urlpatterns = [
    path("groups/manage/<str:public_id>/needs/", views.group_needs, name="group_needs"),
    path("groups/manage/<str:public_id>/needs/new/", views.new_need, name="new"),
    path("groups/manage/<str:public_id>/needs/<str:need_id>/edit/", views.edit_need, name="edit"),
    path(
        "groups/manage/<str:public_id>/needs/<str:need_id>/publish/",
        views.publish_need,
        name="publish",
    ),
    path(
        "groups/manage/<str:public_id>/needs/<str:need_id>/close/",
        views.close_need,
        name="close",
    ),
    path(
        "groups/manage/<str:public_id>/needs/<str:need_id>/shortlist/",
        views.need_shortlist,
        name="shortlist",
    ),
    path("needs/<str:public_id>/", views.need_page, name="page"),
]

# Each part of the invitations work keeps its own routes.
urlpatterns += urls_asks.urlpatterns
urlpatterns += urls_answers.urlpatterns
urlpatterns += urls_people_page.urlpatterns
urlpatterns += urls_volunteer.urlpatterns
