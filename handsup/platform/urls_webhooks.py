from django.urls import URLPattern, path

from handsup.platform import views_webhooks

urlpatterns: list[URLPattern] = [
    path(
        "groups/manage/<str:public_id>/webhooks/",
        views_webhooks.endpoints,
        name="webhooks",
    ),
    path(
        "groups/manage/<str:public_id>/webhooks/<str:endpoint_id>/",
        views_webhooks.endpoint_detail,
        name="webhook",
    ),
    path(
        "groups/manage/<str:public_id>/webhooks/<str:endpoint_id>/delete/",
        views_webhooks.delete_endpoint,
        name="webhook_delete",
    ),
    path(
        "groups/manage/<str:public_id>/webhooks/<str:endpoint_id>/enable/",
        views_webhooks.enable_endpoint,
        name="webhook_enable",
    ),
]
