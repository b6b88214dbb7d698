"""The REST API's operations, added to `handsup.core.api.api` when the platform app is
ready (`PlatformConfig.ready`). Every operation here needs a token (`TokenAuth`)."""

from __future__ import annotations

from ninja import Router

from handsup.core.api import api
from handsup.platform.api import errors, groups, members, needs, stories, tools, updates
from handsup.platform.api_auth import token_auth

errors.install(api)

v1 = Router(auth=token_auth)
v1.add_router("/groups", groups.router)
v1.add_router("/skills", needs.skills_router)
v1.add_router("/needs", needs.router)
v1.add_router("/members", members.router)
v1.add_router("/stories", stories.router)
v1.add_router("/tools", tools.router)
v1.add_router("/updates", updates.router)
api.add_router("", v1)
