from django.urls import URLPattern, path

from handsup.stories import feeds, views_read

urlpatterns: list[URLPattern] = [
    path("stories/", views_read.index, name="index"),
    path("stories/feed/", feeds.feed, name="feed"),
    path("stories/near/", views_read.near, name="near"),
    path("stories/<str:public_id>/", views_read.story, name="story"),
    path(
        "stories/<str:public_id>/images/<int:image_id>/",
        views_read.story_image,
        name="image",
    ),
]
