from django.urls import URLPattern, path

from handsup.platform import views_tokens

urlpatterns: list[URLPattern] = [
    path("groups/manage/<str:public_id>/api-tokens/", views_tokens.tokens, name="tokens"),
    path(
        "groups/manage/<str:public_id>/api-tokens/<str:token_id>/revoke/",
        views_tokens.revoke,
        name="token_revoke",
    ),
]
