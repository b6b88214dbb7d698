"""The tools registry (views_tools): reading, submitting, editing, help wanted, curating."""

from django.urls import URLPattern, path

from handsup.platform import views_tools

urlpatterns: list[URLPattern] = [
    path("tools/", views_tools.registry, name="tools"),
    # Before "tools/<public_id>/", which would otherwise take "new" for an id.
    path("tools/new/", views_tools.new_tool, name="tool_new"),
    path("tools/new/thanks/", views_tools.tool_submitted, name="tool_submitted"),
    path("tools/<str:public_id>/", views_tools.tool_page, name="tool"),
    path("tools/<str:public_id>/edit/", views_tools.edit_tool, name="tool_edit"),
    path("tools/<str:public_id>/used-by/", views_tools.used_by, name="tool_used_by"),
    path("tools/<str:public_id>/help/", views_tools.help_need, name="tool_help"),
    path("curate/tools/", views_tools.queue, name="tool_queue"),
    path("curate/tools/<str:public_id>/review/", views_tools.review, name="tool_review"),
]
