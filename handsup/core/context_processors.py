"""Navigation by role: each person sees links for the roles they hold."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from handsup.groups.permissions import curates_stories, is_platform_admin


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    links: list[tuple[str, str]] = [
        (_("Groups"), reverse("groups:directory")),
        (_("Stories"), reverse("stories:index")),
        (_("Tools"), reverse("platform:tools")),
    ]
    if user.is_authenticated:
        links.append((_("Needs for me"), reverse("needs:for_me")))
        links.append((_("Your Hands Up"), reverse("me")))
        if curates_stories(user):
            links.append((_("Curate stories"), reverse("stories:queue")))
        if is_platform_admin(user):
            links.append((_("Platform"), reverse("platform")))
    return {"nav_links": links, "demo_mode": settings.DEMO_MODE}
