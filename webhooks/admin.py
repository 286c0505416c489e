"""Endpoints and their events in the admin: register, rotate the secret, see failures, redeliver."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import NoDeleteMixin
from webhooks import services
from webhooks.models import EventType, OutboxEvent, WebhookEndpoint
from webhooks.safety import UnsafeURL, check_url


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(choices=EventType.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ["clinic", "url", "events", "description", "active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            check_url(url)
        except UnsafeURL as error:
            raise forms.ValidationError(str(error)) from error
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(NoDeleteMixin, admin.ModelAdmin):
    """Saves go through the services: the URL is checked, the secret generated and shown once."""

    form = EndpointForm
    list_display = ["clinic", "url", "active", "created_at"]
    list_filter = ["active", "clinic"]
    actions = ["rotate_secret"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["clinic"] if obj else []

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        data = form.cleaned_data  # the URL was checked by the form (clean_url)
        if change:
            fields = {k: data[k] for k in ("url", "events", "description", "active")}
            services.endpoint_update(endpoint=obj, actor=request.user, **fields)
            return
        created, secret = services.endpoint_create(
            clinic=data["clinic"], url=data["url"], events=data["events"],
            description=data["description"], actor=request.user,
        )  # fmt: skip
        obj.pk, obj.secret = created.pk, created.secret
        self.message_user(
            request,
            _("The signing secret (shown only now): %(secret)s") % {"secret": secret},
            messages.WARNING,
        )

    @admin.action(description=gettext_lazy("Rotate the signing secret"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            _, secret = services.endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
            self.message_user(
                request,
                _("New secret of %(url)s (shown only now): %(secret)s")
                % {"url": endpoint.url, "secret": secret},
            )


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "endpoint", "status", "attempts", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "type"]
    search_fields = ["id", "key"]
    actions = ["redeliver"]
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Redeliver the selected events"))
    def redeliver(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        for event in queryset.select_related("endpoint"):
            services.event_redeliver(event=event, actor=request.user)
        self.message_user(request, _("%(count)d events queued for redelivery.") % {"count": queryset.count()})
