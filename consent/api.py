from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from consent import policies
from consent.models import SHARING_CHAIN_KIND
from consent.permissions import get_sharing_request_for_download, get_sharing_request_for_user
from consent.selectors import consent_history, current_consents
from consent.serializers import (
    ConsentCreateSerializer,
    ConsentRecordSerializer,
    CustomerConsentsSerializer,
    SharingDecisionSerializer,
    SharingRequestCreateSerializer,
    SharingRequestSerializer,
)
from consent.services.packages import PackageDownload, PackageGone, sharing_package_download
from consent.services.records import consent_record
from consent.services.sharing import (
    sharing_request_create,
    sharing_request_decide,
    sharing_request_withdraw,
)
from consent.sharing_selectors import sharing_requests_of
from customers.models.catalogue import Customer
from customers.visibility import get_asset_for_user, get_customer_for_user
from portal.api import CSVRenderer, asks_for_waiting, waiting_requests_response
from portal.approvals import approvals_waiting_for
from portal.csv_export import csv_file_response
from portal.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent_create


class CustomerConsentViewSet(viewsets.GenericViewSet):
    """A customer's consents (compliance and legal; 404 for everyone else)."""

    lookup_value_regex = r"\d+"
    queryset = Customer.objects.none()

    @extend_schema(responses=CustomerConsentsSerializer)
    @action(detail=True, methods=["get"])
    def consents(self, request, pk=None):
        customer = get_customer_for_user(request.user, pk)
        body = {
            "customer": customer.pk,
            "current": current_consents(customer),
            "history": consent_history(customer),
        }
        return Response(CustomerConsentsSerializer(body).data)


class ConsentViewSet(viewsets.GenericViewSet):
    """Record a consent or a withdrawal (compliance only)."""

    serializer_class = ConsentCreateSerializer

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=ConsentCreateSerializer,
        responses={201: ConsentRecordSerializer},
    )
    @idempotent_create
    def create(self, request):
        # Before the body is read: a refusal is a 403 whatever was sent.
        policies.require_may_record_consent(request.user)
        body = ConsentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        try:
            customer = get_customer_for_user(request.user, data.pop("customer"))
        except Http404 as error:
            raise exceptions.ValidationError({"customer": [_("Unknown customer.")]}) from error
        record = consent_record(actor=request.user, customer=customer, **data)
        return Response(ConsentRecordSerializer(record).data, status=status.HTTP_201_CREATED)


class SharingRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """External sharing requests: the caller's own, or with ``?waiting=1`` those waiting
    for the caller's decision."""

    serializer_class = SharingRequestSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return sharing_requests_of(self.request.user).order_by("-created_at", "-id")

    def get_object(self):
        return get_sharing_request_for_user(self.request.user, self.kwargs["pk"])

    @extend_schema(parameters=[OpenApiParameter("waiting", OpenApiTypes.BOOL)])
    def list(self, request, *args, **kwargs):
        if asks_for_waiting(request):
            waiting = approvals_waiting_for(request.user, kinds=[SHARING_CHAIN_KIND])
            return waiting_requests_response(self, waiting)
        return super().list(request, *args, **kwargs)

    def _fresh(self, pk) -> dict:
        sharing_request = get_sharing_request_for_user(self.request.user, pk)
        return SharingRequestSerializer(sharing_request, context={"request": self.request}).data

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=SharingRequestCreateSerializer,
        responses={201: SharingRequestSerializer},
    )
    @idempotent_create
    def create(self, request):
        body = SharingRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["asset"] = get_asset_for_user(request.user, data["asset"])
        sharing_request = sharing_request_create(actor=request.user, **data)
        return Response(self._fresh(sharing_request.pk), status=status.HTTP_201_CREATED)

    def _decide(self, request, approve: bool):
        sharing_request = self.get_object()
        body = SharingDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sharing_request_decide(
            sharing_request=sharing_request,
            actor=request.user,
            approve=approve,
            reason=body.validated_data["reason"],
            transfer_safeguard=body.validated_data.get("transfer_safeguard", ""),
        )
        return Response(self._fresh(sharing_request.pk))

    @extend_schema(request=SharingDecisionSerializer, responses=SharingRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """``transfer_safeguard`` is required for legal's approval of a recipient outside
        the EU/EEA."""
        return self._decide(request, approve=True)

    @extend_schema(request=SharingDecisionSerializer, responses=SharingRequestSerializer)
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        return self._decide(request, approve=False)

    @extend_schema(request=None, responses=SharingRequestSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        sharing_request = self.get_object()
        sharing_request_withdraw(sharing_request=sharing_request, actor=request.user)
        return Response(self._fresh(sharing_request.pk))

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR, 410: OpenApiTypes.OBJECT})
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[renderers.JSONRenderer, CSVRenderer],
    )
    def package(self, request, pk=None):
        """The approved package, CSV: the requester only (404 for anyone else), for seven
        days (then 410 Gone with the reason)."""
        sharing_request = get_sharing_request_for_download(request.user, pk)
        try:
            download = sharing_package_download(sharing_request=sharing_request, actor=request.user)
        except PackageGone as gone:
            # Rendered as JSON whatever the client asked for: the reason must be readable.
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = "application/json"
            return Response({"detail": gone.message}, status=status.HTTP_410_GONE)
        return package_response(download)


def package_response(download: PackageDownload):
    """The package as a CSV download, with its export id and row count in the headers."""
    return csv_file_response(
        filename=download.filename,
        content=download.content,
        extra_headers={"X-Export-Id": download.export_id, "X-Export-Rows": str(download.rows)},
    )
