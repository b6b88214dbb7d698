"""A group's API tokens: the list, creating one (its secret shown once), revoking one.

Only the group's admins (`group_policy` "administer"); for anyone else every page is 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from handsup.core.http import AuthenticatedRequest
from handsup.groups.access import access_group
from handsup.groups.models import Group
from handsup.platform.forms_tokens import TokenForm
from handsup.platform.models import ApiToken
from handsup.platform.tokens import do_create_token, do_revoke_token


def _tokens_page(
    request: AuthenticatedRequest,
    group: Group,
    form: TokenForm,
    *,
    secret: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "platform/tokens.html",
        {
            "group": group,
            "form": form,
            "tokens": ApiToken.objects.filter(group=group).select_related("created_by"),
            "secret": secret,
        },
        status=status,
    )


@login_required
def tokens(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """The list and the form; a valid POST creates a token and shows its secret, once."""
    group = access_group(request.user, public_id, "administer")
    form = TokenForm(request.POST or None)
    if request.method != "POST":
        return _tokens_page(request, group, form)
    if not form.is_valid():
        return _tokens_page(request, group, form, status=400)
    made = do_create_token(
        actor=request.user,
        group=group,
        name=form.cleaned_data["name"],
        scopes=form.cleaned_data["scopes"],
        expires_in_days=form.cleaned_data["expires_in_days"],
    )
    # Rendered, not redirected: the secret must never sit in a session or a URL.
    response = _tokens_page(request, group, TokenForm(), secret=made.secret, status=201)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def revoke(request: AuthenticatedRequest, public_id: str, token_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "administer")
    token = ApiToken.objects.filter(group=group, public_id=token_id).first()
    if token is None:
        raise Http404("No such token.")
    do_revoke_token(actor=request.user, token=token)
    messages.success(
        request, _("“%(name)s” is revoked: it no longer works.") % {"name": token.name}
    )
    return redirect("platform:tokens", public_id=group.public_id)
