from django.urls import path

from handsup.groups import views

app_name = "groups"
urlpatterns = [
    path("", views.directory, name="directory"),
    path("new/", views.request_group, name="request"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<str:public_id>/", views.decide_group, name="decide"),
    path("manage/<str:public_id>/", views.organise, name="organise"),
    path("manage/<str:public_id>/members/", views.members, name="members"),
    path("manage/<str:public_id>/members/export.csv", views.export_members, name="export_members"),
    path("manage/<str:public_id>/members/<str:member_id>/", views.member, name="member"),
    path(
        "manage/<str:public_id>/members/<str:member_id>/role/",
        views.change_role,
        name="change_role",
    ),
    path("manage/<str:public_id>/requests/", views.join_requests, name="join_requests"),
    path(
        "manage/<str:public_id>/requests/<str:request_id>/",
        views.decide_join_request,
        name="decide_join_request",
    ),
    path("manage/<str:public_id>/settings/", views.settings_view, name="settings"),
    path("manage/<str:public_id>/logo/", views.upload_logo, name="logo"),
    path("manage/<str:public_id>/sub-groups/new/", views.request_subgroup, name="request_sub"),
    path("manage/<str:public_id>/archive/", views.archive, name="archive"),
    path("manage/<str:public_id>/figures/", views.figures, name="figures"),
    path("invitations/<str:public_id>/", views.answer_invitation, name="answer_invitation"),
    path("<slug:slug>/", views.group_page, name="page"),
    path("<slug:slug>/join/", views.join, name="join"),
    path("<slug:slug>/leave/", views.leave, name="leave"),
    path("<slug:slug>/block/", views.block, name="block"),
    path("<slug:slug>/unblock/", views.unblock, name="unblock"),
]
