"""The open platform's pages: the tools registry, and a group's API tokens and webhooks."""

from handsup.platform import urls_tokens, urls_tools, urls_webhooks

app_name = "platform"
urlpatterns = [*urls_tools.urlpatterns, *urls_tokens.urlpatterns, *urls_webhooks.urlpatterns]
