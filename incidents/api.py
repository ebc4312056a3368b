from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from incidents import policies
from incidents.forms import IncidentFilterForm
from incidents.list_rows import incident_api_pages
from incidents.permissions import get_alert_for_user, get_duty_for_user, get_incident_for_user
from incidents.selectors import alert_list_for, incident_triage_list
from incidents.serializers import (
    AlertDismissSerializer,
    AlertSerializer,
    AwarenessSerializer,
    CustomerNoticeSerializer,
    DutyRecordSerializer,
    IncidentReportSerializer,
    IncidentSerializer,
    IncidentTriageDetailSerializer,
    IncidentTriageSerializer,
    IncidentTriageViewSerializer,
    NoRiskReasonSerializer,
    NoteSerializer,
    RegimeApplySerializer,
    incident_list_data,
)
from incidents.services.alerts import alert_dismiss, alert_open_incident
from incidents.services.deadlines import (
    incident_awareness_set,
    incident_customer_notice_decide,
    incident_duty_record,
    incident_no_risk_confirm,
    incident_no_risk_propose,
    incident_regime_apply,
)
from incidents.services.reports import incident_acknowledge, incident_report
from incidents.services.triage import incident_note_add, incident_triage
from portal.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent_create


def incident_action(service, path: str, body_class=None):
    """``POST /api/incidents/{id}/<path>/``: the body's fields are the keyword arguments
    of ``service(actor=..., incident=..., ...)``; Compliance and Legal only."""

    def act(self, request, pk=None):
        return self._triage(
            request,
            pk,
            lambda incident, **data: service(actor=request.user, incident=incident, **data),
            body_class,
        )

    act.__name__ = path.replace("/", "_").replace("-", "_")
    act = action(detail=True, methods=["post"], url_path=path)(act)
    return extend_schema(request=body_class, responses=IncidentTriageDetailSerializer)(act)


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reports of suspected mishandling: anyone reports; reporters read their own;
    Compliance and Legal read and triage all of them."""

    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        if policies.may_triage(self.request.user):
            return IncidentTriageViewSerializer
        return IncidentSerializer

    def get_queryset(self):
        form = IncidentFilterForm(self.request.query_params)
        if not form.is_valid():
            raise exceptions.ValidationError(form.errors.get_json_data())
        return incident_triage_list(self.request.user, **form.filters())

    def _answer(self, incident, code=status.HTTP_200_OK):
        incident = get_incident_for_user(self.request.user, incident.pk)
        shape = (
            IncidentTriageDetailSerializer
            if policies.may_triage(self.request.user)
            else IncidentSerializer
        )
        serializer = shape(incident, context={"request": self.request})
        return Response(serializer.data, status=code)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR),
            OpenApiParameter("severity", OpenApiTypes.STR),
            OpenApiParameter("breach", OpenApiTypes.STR, enum=["yes", "no", "unknown"]),
            OpenApiParameter("overdue", OpenApiTypes.STR, enum=["yes", "no"]),
        ]
    )
    def list(self, request, *args, **kwargs):
        # A page read as plain rows and written as get_serializer_class() writes each
        # incident (incident_list_data): the serializer's way built about 270 objects and
        # walked 22 fields a row: about half of a 50-row page's time at scale.
        page = self.paginate_queryset(incident_api_pages(self.get_queryset()))
        data = incident_list_data(
            page, viewer=request.user, triage=policies.may_triage(request.user)
        )
        return self.get_paginated_response(data)

    @extend_schema(
        responses=IncidentSerializer,
        description=(
            "The reporter reads these fields; Compliance and Legal "  # i18n: not shown (schema)
            "read the incident with its triage, clocks and duties as well "
            "(the IncidentTriageDetail fields)."
        ),
    )
    def retrieve(self, request, pk=None):
        return self._answer(get_incident_for_user(request.user, pk))

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=IncidentReportSerializer,
        responses={201: IncidentSerializer},
    )
    @idempotent_create
    def create(self, request):
        body = IncidentReportSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        incident = incident_report(actor=request.user, **body.validated_data)
        return self._answer(incident, status.HTTP_201_CREATED)

    def _triage(self, request, pk, perform, body_class=None):
        """Load (404), validate the body (400), call the service (403 if not allowed)."""
        incident = get_incident_for_user(request.user, pk)
        policies.require_may_triage(request.user, _("do this"))
        data = {}
        if body_class is not None:
            body = body_class(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
        perform(incident, **data)
        return self._answer(incident)

    @extend_schema(request=IncidentTriageSerializer, responses=IncidentTriageDetailSerializer)
    def partial_update(self, request, pk=None):
        return self._triage(
            request,
            pk,
            lambda incident, **data: incident_triage(actor=request.user, incident=incident, **data),
            IncidentTriageSerializer,
        )

    @extend_schema(request=DutyRecordSerializer, responses=IncidentTriageDetailSerializer)
    @action(detail=True, methods=["post"], url_path=r"duties/(?P<duty_pk>\d+)/record")
    def duty_record(self, request, pk=None, duty_pk=None):
        duty = get_duty_for_user(request.user, pk, duty_pk)
        return self._triage(
            request,
            pk,
            lambda incident, **data: incident_duty_record(actor=request.user, duty=duty, **data),
            DutyRecordSerializer,
        )

    acknowledge = incident_action(incident_acknowledge, "acknowledge")
    notes = incident_action(incident_note_add, "notes", NoteSerializer)
    regimes = incident_action(incident_regime_apply, "regimes", RegimeApplySerializer)
    awareness = incident_action(incident_awareness_set, "awareness", AwarenessSerializer)
    no_risk_propose = incident_action(
        incident_no_risk_propose, "no-risk/propose", NoRiskReasonSerializer
    )
    no_risk_confirm = incident_action(incident_no_risk_confirm, "no-risk/confirm")
    customer_notice = incident_action(
        incident_customer_notice_decide, "customer-notice", CustomerNoticeSerializer
    )


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Misuse alerts: Compliance only, never the person concerned (404 for everyone else,
    as the audit log's API). Compliance dismisses one with a reason or opens an incident
    from it."""

    lookup_value_regex = r"\d+"
    serializer_class = AlertSerializer

    def get_queryset(self):
        if not policies.may_handle_alerts(self.request.user):
            raise exceptions.NotFound()
        return alert_list_for(self.request.user)

    def retrieve(self, request, pk=None):
        return Response(AlertSerializer(get_alert_for_user(request.user, pk)).data)

    @extend_schema(request=AlertDismissSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        alert = get_alert_for_user(request.user, pk)
        body = AlertDismissSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = alert_dismiss(alert=alert, actor=request.user, reason=body.validated_data["reason"])
        return Response(AlertSerializer(get_alert_for_user(request.user, alert.pk)).data)

    @extend_schema(request=None, responses={201: AlertSerializer})
    @action(detail=True, methods=["post"])
    def incident(self, request, pk=None):
        alert = get_alert_for_user(request.user, pk)
        alert_open_incident(alert=alert, actor=request.user)
        return Response(
            AlertSerializer(get_alert_for_user(request.user, alert.pk)).data,
            status=status.HTTP_201_CREATED,
        )
