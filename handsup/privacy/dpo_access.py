"""Who may open the data protection officer's pages (`/dpo/`): signed in, and a data
protection officer or platform admin (`groups.permissions.works_on_data_protection`);
anyone else gets 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBase

from handsup.core.http import AuthenticatedRequest
from handsup.groups.permissions import works_on_data_protection

View = Callable[..., HttpResponseBase]


def dpo_view(view: View) -> View:
    """The view, for data protection officers and platform admins only."""

    @login_required
    @wraps(view)
    def wrapped(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not works_on_data_protection(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped
