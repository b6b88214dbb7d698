from django.urls import URLPattern, path

from handsup.stories import views_curate

urlpatterns: list[URLPattern] = [
    path("curate/stories/", views_curate.queue, name="queue"),
    path("curate/stories/<str:public_id>/", views_curate.review, name="review"),
    path("curate/stories/<str:public_id>/status/", views_curate.change_status, name="status"),
    path("curate/stories/<str:public_id>/feature/", views_curate.feature, name="feature"),
    path("curate/tags/", views_curate.tags, name="tags"),
    path("curate/tags/<int:tag_id>/", views_curate.change_tag, name="tag"),
]
