from django.urls import path

from handsup.messaging import views

app_name = "messaging"
urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
