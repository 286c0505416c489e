"""Input and output shapes of the webhooks API."""

from __future__ import annotations

from rest_framework import serializers

from api.lab.serializers import CodeRef
from batches.models import Clinic
from webhooks.models import EventType, OutboxEvent, WebhookEndpoint


class EndpointIn(serializers.Serializer):
    url = serializers.CharField(
        max_length=500,
        help_text="https URL of the clinic system; private and loopback addresses are refused.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), min_length=1, max_length=len(EventType)
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    clinic = CodeRef(
        slug_field="code",
        queryset=Clinic.objects.filter(active=True),
        required=False,
        help_text="Clinic code: only for admins. A clinic token or coordinator registers for its own clinic.",
    )


class EndpointChange(serializers.Serializer):
    url = serializers.CharField(max_length=500, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        min_length=1,
        max_length=len(EventType),
        required=False,
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)


class EndpointOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    clinic = serializers.CharField(source="clinic.code", read_only=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices))

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "clinic", "url", "events", "description", "active", "created_at", "secret_rotated_at"]


class EndpointWithSecret(EndpointOut):
    secret = serializers.SerializerMethodField(
        help_text="The signing secret (Standard Webhooks, whsec_...). Shown only in this response."
    )

    class Meta(EndpointOut.Meta):
        fields = [*EndpointOut.Meta.fields, "secret"]

    def get_secret(self, endpoint: WebhookEndpoint) -> str:
        return str(self.context["secret"])


class EventOut(serializers.ModelSerializer):
    endpoint = serializers.UUIDField(source="endpoint.public_id", read_only=True)
    webhook_id = serializers.CharField(source="id", read_only=True, help_text="The webhook-id header.")

    class Meta:
        model = OutboxEvent
        fields = [
            "id", "webhook_id", "endpoint", "type", "status", "attempts", "created_at", "next_attempt_at",
            "retry_until", "last_attempt_at", "last_status_code", "last_error", "delivered_at", "payload",
        ]  # fmt: skip
