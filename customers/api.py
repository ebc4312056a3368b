from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from consent.api import CustomerConsentViewSet
from consent.coverage_cache import cached_coverage_for
from consent.selectors import purpose_by_key
from customers.forms import AssetFilterForm, FootprintPeriodForm
from customers.models.access import ACCESS_CHAIN_KIND, AccessGrant
from customers.permissions import (
    get_access_request_for_user,
    get_customer_footprint_for_user,
    get_erasure_task_for_owner,
    get_grant_for_reading,
    get_grant_for_user,
    get_subject_request_for_user,
)
from customers.selectors.access import access_request_pages, access_requests_of
from customers.selectors.catalogue import asset_catalogue
from customers.selectors.customer_search import customer_search
from customers.selectors.footprint import customer_footprint, footprint_as_dict
from customers.selectors.grants import grant_list_for, grant_pages, grant_records, grant_rows
from customers.selectors.subject_requests import erasure_tasks_of, subject_request_list_for
from customers.serializers import (
    AccessRequestCreateSerializer,
    AccessRequestSerializer,
    AssetClassifySerializer,
    AssetDetailSerializer,
    AssetSerializer,
    CloseSerializer,
    ConfirmSerializer,
    CustomerSerializer,
    ExtendSerializer,
    GrantSerializer,
    OwnerErasureTaskSerializer,
    SubjectRequestCreateSerializer,
    SubjectRequestSerializer,
    access_request_list_data,
)
from customers.services.access import (
    access_request_create,
    access_request_decide,
    access_request_withdraw,
)
from customers.services.assets import asset_classify
from customers.services.exports import grant_export_start, records_viewed
from customers.services.grants import grant_revoke
from customers.services.subject_requests import (
    erasure_task_confirm,
    subject_request_close,
    subject_request_create,
    subject_request_extend,
    subject_request_report,
)
from customers.visibility import get_asset_for_user, get_customer_for_user
from portal import roles
from portal.api import (
    CSVRenderer,
    OneReadPagination,
    Pagination,
    asks_for_waiting,
    waiting_requests_response,
)
from portal.approvals import approvals_waiting_for
from portal.csv_export import csv_response
from portal.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent_create
from portal.input_limits import as_id, column_max
from portal.permissions import check_compliance_page
from portal.serializers import ReasonSerializer


class AssetViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The data-asset catalogue: metadata only, never the customer records."""

    serializer_class = AssetSerializer
    pagination_class = OneReadPagination
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        form = AssetFilterForm(self.request.query_params, user=self.request.user)
        if not form.is_valid():
            raise exceptions.ValidationError(form.errors.get_json_data())
        return asset_catalogue(self.request.user, **form.filters())

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                description="Search name, description and owner",  # i18n: not shown (API schema)
            ),
            OpenApiParameter("classification", OpenApiTypes.STR),
            OpenApiParameter(
                "owner",
                OpenApiTypes.INT,
                description="Owner's user id",  # i18n: not shown (API schema)
            ),
            OpenApiParameter(
                "category",
                OpenApiTypes.STR,
                description="Data category key",  # i18n: not shown (API schema)
            ),
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
                description=(
                    "Purpose key: adds `coverage` "  # i18n: not shown (API schema)
                    "{eligible, total} for it"
                ),
            )
        ],
        responses=AssetDetailSerializer,
    )
    def retrieve(self, request, pk=None):
        asset = get_asset_for_user(request.user, pk)
        coverage = None
        if "purpose" in request.query_params:
            purpose = purpose_by_key(request.query_params["purpose"])
            coverage = cached_coverage_for(asset, purpose)
        context = {"request": request, "coverage": coverage}
        return Response(AssetDetailSerializer(asset, context=context).data)

    @extend_schema(request=AssetClassifySerializer, responses=AssetDetailSerializer)
    @action(detail=True, methods=["post"])
    def classify(self, request, pk=None):
        asset = get_asset_for_user(request.user, pk)
        body = AssetClassifySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        asset_classify(asset=asset, actor=request.user, **body.validated_data)
        asset = get_asset_for_user(request.user, pk)
        return Response(AssetDetailSerializer(asset, context={"request": request}).data)


class AccessRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Access requests: the caller's own, or with ``?waiting=1`` those waiting for them."""

    serializer_class = AccessRequestSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return access_request_pages(access_requests_of(self.request.user))

    def get_object(self):
        return get_access_request_for_user(self.request.user, self.kwargs["pk"])

    @extend_schema(
        parameters=[OpenApiParameter("waiting", OpenApiTypes.BOOL)],
    )
    def list(self, request, *args, **kwargs):
        if asks_for_waiting(request):
            waiting = approvals_waiting_for(request.user, kinds=[ACCESS_CHAIN_KIND])
            return waiting_requests_response(self, waiting, access_request_list_data)
        # A page of plain rows written as the serializer writes each request
        # (access_request_list_data): DRF's walk was about a quarter of the page's time.
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(access_request_list_data(page))

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=AccessRequestCreateSerializer,
        responses={201: AccessRequestSerializer},
    )
    @idempotent_create
    def create(self, request):
        body = AccessRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["asset"] = get_asset_for_user(request.user, data["asset"])
        access_request = access_request_create(actor=request.user, **data)
        return Response(self._fresh(access_request.pk), status=status.HTTP_201_CREATED)

    def _fresh(self, pk) -> dict:
        access_request = get_access_request_for_user(self.request.user, pk)
        return AccessRequestSerializer(access_request, context={"request": self.request}).data

    def _decide(self, request, pk, approve: bool):
        access_request = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        access_request_decide(
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
        access_request_withdraw(access_request=access_request, actor=request.user)
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
                # A foreign key's lookup is not guarded against overflow as a primary key's
                # is: an id beyond the column would be a server error.
                wanted = as_id(value)
                if wanted is None or wanted > column_max(AccessGrant, name):
                    raise exceptions.ValidationError({name: [_("Give an id (a whole number).")]})
                grants = grants.filter(**{f"{name}_id": wanted})
        else:
            grants = grants.filter(user=self.request.user)
        return grant_pages(grants)

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
        grant_revoke(grant=grant, actor=request.user, reason=body.validated_data["reason"])
        return Response(GrantSerializer(self._row(grant)).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(GrantSerializer(self._row(self.get_object())).data)

    @staticmethod
    def _row(grant: AccessGrant):
        """The grant's plain row, as the list shows it, read fresh (after a revocation)."""
        (row,) = grant_rows(AccessGrant.objects.filter(pk=grant.pk))
        return row

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def records(self, request, pk=None):
        grant = get_grant_for_reading(request.user, pk)
        columns, rows = grant_records(grant)
        paginator = OneReadPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        records_viewed(
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
        batch = grant_export_start(grant=grant, actor=request.user)
        return csv_response(
            filename=batch.filename,
            columns=batch.columns,
            rows=batch.rows,
            extra_headers={"X-Export-Id": batch.export_id, "X-Export-Rows": str(batch.count)},
        )


# --- Data subject requests -------------------------------------------------------------


class CustomerViewSet(CustomerConsentViewSet):
    """Customers: search (compliance and legal), the consents (unchanged, from consent) and
    the footprint (compliance only). Registered at ``/api/customers/`` in place of the
    consent viewset it extends, so ``/api/customers/{id}/consents/`` answers as before."""

    serializer_class = CustomerSerializer

    def get_queryset(self):
        return customer_search(self.request.user, self.request.query_params.get("q", ""))

    @property
    def paginator(self):
        """A search's matches are sorted by name, which no index orders, so a page reads
        them all: the page and its count in one scan (``OneReadPagination``; "Ltd" in 4,928
        of 100,000 names, 3 ms instead of 3 and 4). The whole list keeps two statements:
        a window over 100,000 customers took 40 ms, a count and a top-50 sort 8 and 12."""
        if not hasattr(self, "_paginator"):
            searched = self.request.query_params.get("q", "").strip()
            self._paginator = OneReadPagination() if searched else Pagination()
        return self._paginator

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                description="E-mail, name or id",  # i18n: not shown (API schema)
            )
        ],
        responses=CustomerSerializer(many=True),
    )
    def list(self, request):
        if not roles.is_compliance_or_legal(request.user):
            raise Http404(_("Not found."))
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CustomerSerializer(page, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.DATE,
                description="First day of the period",  # i18n: not shown (API schema)
            ),
            OpenApiParameter(
                "until",
                OpenApiTypes.DATE,
                description="Last day of the period",  # i18n: not shown (API schema)
            ),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def footprint(self, request, pk=None):
        customer = get_customer_footprint_for_user(request.user, pk)
        form = FootprintPeriodForm(request.query_params)
        if not form.is_valid():
            raise exceptions.ValidationError(form.errors.get_json_data())
        return Response(footprint_as_dict(customer_footprint(customer, **form.period())))


class SubjectRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Data subject requests: compliance only (404 for everyone else), except confirming an
    erasure task, which only the task's owner may (404 for anyone else)."""

    serializer_class = SubjectRequestSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        check_compliance_page(self.request.user)
        requests = subject_request_list_for(self.request.user)
        status_filter = self.request.query_params.get("status")
        if status_filter:
            requests = requests.filter(status=status_filter)
        return requests.order_by("status", "due_on", "id")

    def get_object(self):
        return get_subject_request_for_user(self.request.user, self.kwargs["pk"])

    def _fresh(self, pk) -> dict:
        return SubjectRequestSerializer(get_subject_request_for_user(self.request.user, pk)).data

    @extend_schema(
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=["open", "closed"])]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=SubjectRequestCreateSerializer,
        responses={201: SubjectRequestSerializer},
    )
    @idempotent_create
    def create(self, request):
        check_compliance_page(request.user)
        body = SubjectRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        try:
            data["customer"] = get_customer_for_user(request.user, data["customer"])
        except Http404 as error:
            raise exceptions.ValidationError({"customer": [_("Unknown customer.")]}) from error
        subject_request = subject_request_create(actor=request.user, **data)
        return Response(self._fresh(subject_request.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=ExtendSerializer, responses=SubjectRequestSerializer)
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        subject_request = self.get_object()
        body = ExtendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subject_request_extend(
            actor=request.user, subject_request=subject_request, **body.validated_data
        )
        return Response(self._fresh(pk))

    @extend_schema(request=CloseSerializer, responses=SubjectRequestSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        subject_request = self.get_object()
        body = CloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subject_request_close(
            actor=request.user, subject_request=subject_request, **body.validated_data
        )
        return Response(self._fresh(pk))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        """The access report: everything the portal holds about the customer (JSON)."""
        subject_request = self.get_object()
        report = subject_request_report(actor=request.user, subject_request=subject_request)
        response = Response(report)
        response["Content-Disposition"] = (
            f'attachment; filename="{subject_request.reference}-report.json"'
        )
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(request=ConfirmSerializer, responses=OwnerErasureTaskSerializer)
    @action(detail=True, methods=["post"], url_path=r"tasks/(?P<task>\d+)/confirm")
    def confirm_task(self, request, pk=None, task=None):
        # Not get_object(): the owner confirming is not compliance and sees only the task.
        erasure_task = get_erasure_task_for_owner(request.user, task, request_pk=pk)
        body = ConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        erasure_task_confirm(
            actor=request.user, task=erasure_task, note=body.validated_data.get("note", "")
        )
        fresh = get_erasure_task_for_owner(request.user, task, request_pk=pk)
        return Response(OwnerErasureTaskSerializer(fresh).data)


class ErasureTaskViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own erasure tasks (as an asset owner), open ones first."""

    serializer_class = OwnerErasureTaskSerializer

    def get_queryset(self):
        return erasure_tasks_of(self.request.user)
