from django.urls import URLPattern, path

from handsup.stories import views_submit

urlpatterns: list[URLPattern] = [
    path("stories/new/", views_submit.new_story, name="new"),
    path("stories/new/thanks/", views_submit.submitted, name="submitted"),
    path("stories/mine/", views_submit.my_stories, name="mine"),
    path("stories/<str:public_id>/edit/", views_submit.edit_story, name="edit"),
]
