from django.urls import path

from handsup.imports import views

app_name = "imports"

urlpatterns = [
    path("imports/new/", views.upload_movement_wide, name="upload_movement"),
    path("imports/<str:public_id>/", views.job_page, name="job"),
    path("imports/<str:public_id>/columns/", views.set_mapping, name="mapping"),
    path("imports/<str:public_id>/start/", views.start, name="start"),
    path("imports/<str:public_id>/cancel/", views.cancel, name="cancel"),
    path("imports/<str:public_id>/progress/", views.progress, name="progress"),
    path("imports/<str:public_id>/rejected-rows.csv", views.rejected_rows, name="rejected"),
    path("groups/manage/<str:public_id>/import/", views.upload_for_group, name="upload"),
]
