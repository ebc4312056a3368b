from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from consent.selectors import coverage_for, purpose_by_key
from customers import services
from customers.exports import csv_response
from customers.forms import AssetFilterForm
from customers.permissions import (
    get_access_request_for_user,
    get_asset_for_user,
    get_grant_for_reading,
    get_grant_for_user,
)
from customers.selectors import (
    access_requests_of,
    access_requests_waiting_for,
    asset_catalogue,
    grant_list_for,
    grant_records,
)
from customers.serializers import (
    AccessRequestCreateSerializer,
    AccessRequestSerializer,
    AssetClassifySerializer,
    AssetDetailSerializer,
    AssetSerializer,
    GrantSerializer,
    ReasonSerializer,
)
from portal import roles


class AssetViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The data-asset catalogue: metadata only, never the customer records."""

    serializer_class = AssetSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        form = AssetFilterForm(self.request.query_params, user=self.request.user)
        if not form.is_valid():
            raise exceptions.ValidationError(form.errors.get_json_data())
        return asset_catalogue(self.request.user, **form.filters())

    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Search name and description"),
            OpenApiParameter("classification", OpenApiTypes.STR),
            OpenApiParameter("owner", OpenApiTypes.INT, description="Owner's user id"),
            OpenApiParameter("category", OpenApiTypes.STR, description="Data category key"),
            OpenApiParameter("confirmed", OpenApiTypes.STR, enum=["yes", "no"]),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "purpose",
                OpenApiTypes.STR,
                description="Purpose key: adds `coverage` {eligible, total} for it",
            )
        ],
        responses=AssetDetailSerializer,
    )
    def retrieve(self, request, pk=None):
        asset = get_asset_for_user(request.user, pk)
        coverage = None
        if "purpose" in request.query_params:
            purpose = purpose_by_key(request.query_params["purpose"])
            coverage = coverage_for(asset, purpose)
        context = {"request": request, "coverage": coverage}
        return Response(AssetDetailSerializer(asset, context=context).data)

    @extend_schema(request=AssetClassifySerializer, responses=AssetDetailSerializer)
    @action(detail=True, methods=["post"])
    def classify(self, request, pk=None):
        asset = get_asset_for_user(request.user, pk)
        body = AssetClassifySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.asset_classify(asset=asset, actor=request.user, **body.validated_data)
        asset = get_asset_for_user(request.user, pk)
        return Response(AssetDetailSerializer(asset, context={"request": request}).data)


class CSVRenderer(renderers.BaseRenderer):
    """Lets a client that asks for ``text/csv`` reach the export (the body is streamed)."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | str):
            return data
        # An error answered to a client that asked for CSV (a 404, a 403): JSON like every
        # API error, not an empty body without a content type (schemathesis found it).
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return renderers.JSONRenderer().render(data)


class AccessRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Access requests: the caller's own, or with ``?waiting=1`` those waiting for them."""

    serializer_class = AccessRequestSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if self.request.query_params.get("waiting") in ("1", "true", "yes"):
            return access_requests_waiting_for(self.request.user)
        return access_requests_of(self.request.user).order_by("-created_at", "-id")

    def get_object(self):
        return get_access_request_for_user(self.request.user, self.kwargs["pk"])

    @extend_schema(
        parameters=[OpenApiParameter("waiting", OpenApiTypes.BOOL)],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=AccessRequestCreateSerializer, responses={201: AccessRequestSerializer})
    def create(self, request):
        body = AccessRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["asset"] = get_asset_for_user(request.user, data["asset"])
        access_request = services.access_request_create(actor=request.user, **data)
        return Response(self._fresh(access_request.pk), status=status.HTTP_201_CREATED)

    def _fresh(self, pk) -> dict:
        access_request = get_access_request_for_user(self.request.user, pk)
        return AccessRequestSerializer(access_request, context={"request": self.request}).data

    def _decide(self, request, pk, approve: bool):
        access_request = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.access_request_decide(
            access_request=access_request,
            actor=request.user,
            approve=approve,
            reason=body.validated_data["reason"],
        )
        return Response(self._fresh(access_request.pk))

    @extend_schema(request=ReasonSerializer, responses=AccessRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, pk, approve=True)

    @extend_schema(request=ReasonSerializer, responses=AccessRequestSerializer)
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        return self._decide(request, pk, approve=False)

    @extend_schema(request=None, responses=AccessRequestSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        access_request = self.get_object()
        services.access_request_withdraw(access_request=access_request, actor=request.user)
        return Response(self._fresh(access_request.pk))


class GrantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Grants: the caller's own; compliance sees all and filters with ``?user=`` and
    ``?asset=`` (ids)."""

    serializer_class = GrantSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        grants = grant_list_for(self.request.user)
        params = self.request.query_params
        if roles.is_compliance(self.request.user):
            for name in ("user", "asset"):
                value = params.get(name)
                if value is None:
                    continue
                if not value.isdigit():
                    raise exceptions.ValidationError({name: ["Give an id (a whole number)."]})
                grants = grants.filter(**{f"{name}_id": int(value)})
        else:
            grants = grants.filter(user=self.request.user)
        return grants.order_by("-created_at", "-id")

    def get_object(self):
        return get_grant_for_user(self.request.user, self.kwargs["pk"])

    @extend_schema(
        parameters=[
            OpenApiParameter("user", OpenApiTypes.INT),
            OpenApiParameter("asset", OpenApiTypes.INT),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ReasonSerializer, responses=GrantSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        grant = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.grant_revoke(grant=grant, actor=request.user, reason=body.validated_data["reason"])
        return Response(GrantSerializer(self.get_object()).data)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def records(self, request, pk=None):
        grant = get_grant_for_reading(request.user, pk)
        columns, rows = grant_records(grant)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        services.records_viewed(
            grant=grant, actor=request.user, page_number=paginator.page.number, shown=len(page)
        )
        response = paginator.get_paginated_response(page)
        response.data["columns"] = columns
        return response

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[renderers.JSONRenderer, CSVRenderer],
    )
    def export(self, request, pk=None):
        grant = get_grant_for_reading(request.user, pk, export=True)
        batch = services.grant_export_start(grant=grant, actor=request.user)
        return csv_response(
            filename=batch.filename,
            columns=batch.columns,
            rows=batch.rows,
            extra_headers={"X-Export-Id": batch.export_id, "X-Export-Rows": str(batch.count)},
        )
