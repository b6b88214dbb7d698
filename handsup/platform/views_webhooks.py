"""A group's webhooks, for its admins: register endpoints, see how deliveries went, turn a
disabled endpoint back on, remove one. Everyone else gets a 404, as for a missing group."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from handsup.core.http import AuthenticatedRequest
from handsup.groups.access import access_group
from handsup.groups.models import Group
from handsup.platform import webhooks
from handsup.platform.addresses import UnsafeAddress, check_webhook_address
from handsup.platform.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

LOG_SIZE = 50


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("Address"),
        max_length=500,
        help_text=gettext_lazy(
            "Where we send events: an https:// address on the public internet, "
            "like https://example.org/hooks/handsup."
        ),
    )
    description = forms.CharField(
        label=gettext_lazy("What it is for (optional)"), max_length=200, required=False
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events to send"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("Choose at least one event to send.")},
    )

    def __init__(self, *args: Any, group: Group, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group = group

    def clean_url(self) -> str:
        url = str(self.cleaned_data["url"]).strip()
        try:
            check_webhook_address(url)
        except UnsafeAddress as refused:
            raise forms.ValidationError(refused.message, code=refused.code) from refused
        return url

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if webhooks.endpoints_of(self.group).count() >= webhooks.MAX_ENDPOINTS_PER_GROUP:
            raise forms.ValidationError(
                _("A group can have up to %(n)d webhook endpoints. Remove one first.")
                % {"n": webhooks.MAX_ENDPOINTS_PER_GROUP}
            )
        return cleaned


def _access_endpoint(group: Group, endpoint_id: str) -> WebhookEndpoint:
    endpoint = (
        webhooks.endpoints_of(group).filter(public_id=endpoint_id).select_related("group").first()
    )
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


@login_required
def endpoints(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "administer")
    form = EndpointForm(request.POST or None, group=group)
    if request.method == "POST" and form.is_valid():
        endpoint = webhooks.do_register_endpoint(
            actor=request.user,
            group=group,
            url=form.cleaned_data["url"],
            description=form.cleaned_data["description"],
            events=form.cleaned_data["events"],
        )
        messages.success(
            request,
            _("Endpoint added. Use its signing secret, below, to check each webhook is ours."),
        )
        return redirect(
            "platform:webhook", public_id=group.public_id, endpoint_id=endpoint.public_id
        )
    return render(
        request,
        "platform/webhooks.html",
        {
            "group": group,
            "endpoints": list(webhooks.endpoints_of(group).order_by("-created_at", "-pk")),
            "form": form,
            "event_labels": dict(WebhookEvent.choices),
        },
        status=400 if form.is_bound else 200,
    )


@login_required
def endpoint_detail(
    request: AuthenticatedRequest, public_id: str, endpoint_id: str
) -> HttpResponse:
    group = access_group(request.user, public_id, "administer")
    endpoint = _access_endpoint(group, endpoint_id)
    deliveries = list(
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .order_by("-created_at", "-pk")
        .defer("payload")
        .prefetch_related(Prefetch("tries", queryset=WebhookAttempt.objects.order_by("at", "pk")))[
            :LOG_SIZE
        ]
    )
    return render(
        request,
        "platform/webhook.html",
        {
            "group": group,
            "endpoint": endpoint,
            "deliveries": deliveries,
            "log_size": LOG_SIZE,
            "event_labels": dict(WebhookEvent.choices),
        },
    )


@login_required
@require_POST
def delete_endpoint(
    request: AuthenticatedRequest, public_id: str, endpoint_id: str
) -> HttpResponse:
    group = access_group(request.user, public_id, "administer")
    endpoint = _access_endpoint(group, endpoint_id)
    webhooks.do_delete_endpoint(actor=request.user, endpoint=endpoint)
    messages.success(request, _("Endpoint removed: nothing more will be sent to it."))
    return redirect("platform:webhooks", public_id=group.public_id)


@login_required
@require_POST
def enable_endpoint(
    request: AuthenticatedRequest, public_id: str, endpoint_id: str
) -> HttpResponse:
    group = access_group(request.user, public_id, "administer")
    endpoint = _access_endpoint(group, endpoint_id)
    if endpoint.disabled_at is None:
        messages.info(request, _("This endpoint is already on."))
    else:
        webhooks.do_enable_endpoint(actor=request.user, endpoint=endpoint)
        messages.success(request, _("Endpoint turned back on: new events will be sent to it."))
    return redirect("platform:webhook", public_id=group.public_id, endpoint_id=endpoint.public_id)
