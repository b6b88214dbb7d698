from django.urls import path

from handsup.messaging import pages, views

app_name = "messaging"
urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("me/messages/", pages.my_messages, name="mine"),
    path("groups/manage/<str:public_id>/updates/", pages.history, name="history"),
    path("groups/manage/<str:public_id>/updates/new/", pages.compose, name="compose"),
    path("groups/manage/<str:public_id>/campaigns/", pages.group_campaigns, name="campaigns"),
    path("platform/campaigns/", pages.movement_campaigns, name="movement_campaigns"),
    path("platform/contact-limits/", pages.contact_limits, name="contact_limits"),
    path("platform/dead-letters/", pages.dead_letters, name="dead_letters"),
]
