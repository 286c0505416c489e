"""Endpoints (register, list, change, deactivate, rotate the secret) and events (list, redeliver).

Who: the clinic's system, its coordinator (their own clinic's, scoped like
every clinic endpoint: another clinic's endpoint or event is a 404) and
admins (every clinic). Thin views: each write is one ``webhooks.services`` call.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.auth import ClinicPrincipal
from api.base import ApiView, ApiViewMixin, problems
from api.permissions import allow, scope_to_principal
from api.webhooks import serializers as s
from core.roles import Role
from webhooks import selectors, services
from webhooks.models import EventType, OutboxEvent, WebhookEndpoint

WebhookWork = allow(Role.COORDINATOR, Role.ADMIN, clinic=True, name="WebhookWork")
ENDPOINT_CLINIC = "clinic"
EVENT_CLINIC = "endpoint__clinic"
ID_PARAMETER = OpenApiParameter("id", str, OpenApiParameter.PATH, description="Endpoint or event id (UUID).")


def _endpoint(request: Request, pk: Any) -> WebhookEndpoint:
    endpoint = (
        scope_to_principal(selectors.endpoint_list(), request, ENDPOINT_CLINIC).filter(public_id=pk).first()
    )
    if endpoint is None:
        raise exceptions.NotFound(_("No webhook endpoint %(id)s.") % {"id": pk})
    return endpoint


def _valid(serializer_class: type[Any], request: Request, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _own_clinic(request: Request, requested: Any) -> Any:
    user = request.user
    own = user.clinic if isinstance(user, ClinicPrincipal) else getattr(user, "clinic", None)
    if own is None and requested is None:
        raise exceptions.ValidationError({"clinic": [_("Give the clinic code of the endpoint's clinic.")]})
    if own is not None and requested is not None and requested.pk != own.pk:
        raise exceptions.ValidationError({"clinic": [_("You register endpoints of your own clinic only.")]})
    return own or requested


class EndpointList(ApiView):
    permission_classes = [WebhookWork]

    @extend_schema(tags=["webhooks"], responses={200: s.EndpointOut(many=True), **problems(401, 403)},
                   operation_id="webhooks_endpoints_list",
                   summary="The caller's clinic's webhook endpoints (secrets are never listed)")  # fmt: skip
    def get(self, request: Request) -> Response:
        endpoints = scope_to_principal(selectors.endpoint_list(), request, ENDPOINT_CLINIC)
        return Response(s.EndpointOut(endpoints, many=True).data)

    @extend_schema(tags=["webhooks"], request=s.EndpointIn,
                   responses={201: s.EndpointWithSecret, **problems(400, 401, 403)},
                   summary="Register an endpoint; the response carries its signing secret, shown this once")  # fmt: skip
    def post(self, request: Request) -> Response:
        data = _valid(s.EndpointIn, request)
        clinic = _own_clinic(request, data.pop("clinic", None))
        endpoint, secret = services.endpoint_create(clinic=clinic, actor=request.user, **data)
        body = s.EndpointWithSecret(endpoint, context={"secret": secret}).data
        return Response(body, status=status.HTTP_201_CREATED)


class EndpointDetail(ApiView):
    permission_classes = [WebhookWork]

    @extend_schema(tags=["webhooks"], parameters=[ID_PARAMETER],
                   responses={200: s.EndpointOut, **problems(401, 403, 404)})  # fmt: skip
    def get(self, request: Request, pk: Any) -> Response:
        return Response(s.EndpointOut(_endpoint(request, pk)).data)

    @extend_schema(tags=["webhooks"], parameters=[ID_PARAMETER], request=s.EndpointChange,
                   responses={200: s.EndpointOut, **problems(400, 401, 403, 404)},
                   summary="Change the URL (checked again), the events, the description or active")  # fmt: skip
    def patch(self, request: Request, pk: Any) -> Response:
        endpoint = _endpoint(request, pk)
        changed = services.endpoint_update(
            endpoint=endpoint, actor=request.user, **_valid(s.EndpointChange, request)
        )
        return Response(s.EndpointOut(changed).data)

    @extend_schema(tags=["webhooks"], parameters=[ID_PARAMETER], responses={204: None, **problems(401, 403, 404)},
                   summary="Deactivate the endpoint (it is kept for the record; nothing more is sent)")  # fmt: skip
    def delete(self, request: Request, pk: Any) -> Response:
        services.endpoint_deactivate(endpoint=_endpoint(request, pk), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotateSecret(ApiView):
    permission_classes = [WebhookWork]

    @extend_schema(tags=["webhooks"], parameters=[ID_PARAMETER], request=None,
                   responses={200: s.EndpointWithSecret, **problems(401, 403, 404)},
                   summary="A new signing secret, shown this once; for 24 h deliveries carry the old secret's signature too")  # fmt: skip
    def post(self, request: Request, pk: Any) -> Response:
        endpoint, secret = services.endpoint_rotate_secret(
            endpoint=_endpoint(request, pk), actor=request.user
        )
        return Response(s.EndpointWithSecret(endpoint, context={"secret": secret}).data)


class EventFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=OutboxEvent.Status.choices)
    type = filters.ChoiceFilter(choices=EventType.choices)
    endpoint = filters.UUIDFilter(field_name="endpoint__public_id", help_text="Endpoint id (UUID).")

    class Meta:
        model = OutboxEvent
        fields = ["status", "type", "endpoint"]


@extend_schema(tags=["webhooks"], responses={200: s.EventOut(many=True), **problems(400, 401, 403)})
class EventList(ApiViewMixin, generics.ListAPIView):
    """Events sent or to be sent to the caller's endpoints, newest first, with their delivery status."""

    permission_classes = [WebhookWork]
    serializer_class = s.EventOut
    filterset_class = EventFilter

    def get_queryset(self) -> QuerySet[OutboxEvent]:
        return scope_to_principal(selectors.event_list(), self.request, EVENT_CLINIC)


def _event(request: Request, pk: Any) -> OutboxEvent:
    event = scope_to_principal(selectors.event_list(), request, EVENT_CLINIC).filter(pk=pk).first()
    if event is None:
        raise exceptions.NotFound(_("No webhook event %(id)s.") % {"id": pk})
    return event


class EventDetail(ApiView):
    permission_classes = [WebhookWork]

    @extend_schema(
        tags=["webhooks"], parameters=[ID_PARAMETER], responses={200: s.EventOut, **problems(401, 403, 404)}
    )
    def get(self, request: Request, pk: Any) -> Response:
        return Response(s.EventOut(_event(request, pk)).data)


class EventRedeliver(ApiView):
    permission_classes = [WebhookWork]

    @extend_schema(tags=["webhooks"], parameters=[ID_PARAMETER], request=None,
                   responses={202: s.EventOut, **problems(401, 403, 404)},
                   summary="Send the event again, with the same webhook-id (retried for another 24 h)")  # fmt: skip
    def post(self, request: Request, pk: Any) -> Response:
        event = services.event_redeliver(event=_event(request, pk), actor=request.user)
        return Response(s.EventOut(event).data, status=status.HTTP_202_ACCEPTED)
