from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from consent.selectors import coverage_for, purpose_by_key
from customers import services
from customers.forms import AssetFilterForm
from customers.permissions import get_asset_for_user
from customers.selectors import asset_catalogue
from customers.serializers import (
    AssetClassifySerializer,
    AssetDetailSerializer,
    AssetSerializer,
)


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
        try:
            services.asset_classify(asset=asset, actor=request.user, **body.validated_data)
        except services.NotAllowed as error:
            raise exceptions.PermissionDenied(error.message) from error
        asset = get_asset_for_user(request.user, pk)
        return Response(AssetDetailSerializer(asset, context={"request": request}).data)
