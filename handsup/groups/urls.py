from django.urls import path

from handsup.groups import views

app_name = "groups"
urlpatterns = [
    path("<str:public_id>/organise/", views.organise, name="organise"),
]
