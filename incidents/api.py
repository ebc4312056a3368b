from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from incidents import services
from incidents.forms import IncidentFilterForm
from incidents.permissions import can_triage, get_duty_for_user, get_incident_for_user
from incidents.selectors import incident_triage_list, incidents_with_prefetched_assets
from incidents.serializers import (
    AwarenessSerializer,
    CustomerNoticeSerializer,
    DutyRecordSerializer,
    IncidentReportSerializer,
    IncidentSerializer,
    IncidentTriageDetailSerializer,
    IncidentTriageSerializer,
    IncidentTriageViewSerializer,
    NoteSerializer,
    ReasonSerializer,
    RegimeApplySerializer,
)


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reports of suspected mishandling: anyone reports; reporters read their own;
    Compliance and Legal read and triage all of them."""

    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        if can_triage(self.request.user):
            return IncidentTriageViewSerializer
        return IncidentSerializer

    def get_queryset(self):
        form = IncidentFilterForm(self.request.query_params)
        if not form.is_valid():
            raise exceptions.ValidationError(form.errors.get_json_data())
        return incidents_with_prefetched_assets(
            incident_triage_list(self.request.user, **form.filters())
        )

    def _answer(self, incident, code=status.HTTP_200_OK):
        incident = get_incident_for_user(self.request.user, incident.pk)
        shape = (
            IncidentTriageDetailSerializer if can_triage(self.request.user) else IncidentSerializer
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
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=IncidentTriageDetailSerializer)
    def retrieve(self, request, pk=None):
        return self._answer(get_incident_for_user(request.user, pk))

    @extend_schema(request=IncidentReportSerializer, responses={201: IncidentSerializer})
    def create(self, request):
        body = IncidentReportSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        incident = services.incident_report(actor=request.user, **body.validated_data)
        return self._answer(incident, status.HTTP_201_CREATED)

    def _triage(self, request, pk, perform, body_class=None):
        """Load (404), validate the body (400), call the service (403 if not allowed)."""
        incident = get_incident_for_user(request.user, pk)
        if not can_triage(request.user):
            raise exceptions.PermissionDenied("Only members of Compliance or Legal can do this.")
        data = {}
        if body_class is not None:
            body = body_class(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
        try:
            perform(incident, **data)
        except services.NotAllowed as error:
            raise exceptions.PermissionDenied(error.message) from error
        return self._answer(incident)

    @extend_schema(request=IncidentTriageSerializer, responses=IncidentTriageDetailSerializer)
    def partial_update(self, request, pk=None):
        return self._triage(
            request,
            pk,
            lambda incident, **data: services.incident_triage(
                actor=request.user, incident=incident, **data
            ),
            IncidentTriageSerializer,
        )

    @extend_schema(request=None, responses=IncidentTriageDetailSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._triage(
            request,
            pk,
            lambda incident: services.incident_acknowledge(actor=request.user, incident=incident),
        )

    @extend_schema(request=NoteSerializer, responses=IncidentTriageDetailSerializer)
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        return self._triage(
            request,
            pk,
            lambda incident, text: services.incident_note_add(
                actor=request.user, incident=incident, text=text
            ),
            NoteSerializer,
        )

    @extend_schema(request=RegimeApplySerializer, responses=IncidentTriageDetailSerializer)
    @action(detail=True, methods=["post"])
    def regimes(self, request, pk=None):
        return self._triage(
            request,
            pk,
            lambda incident, **data: services.incident_regime_apply(
                actor=request.user, incident=incident, **data
            ),
            RegimeApplySerializer,
        )

    @extend_schema(request=DutyRecordSerializer, responses=IncidentTriageDetailSerializer)
    @action(detail=True, methods=["post"], url_path=r"duties/(?P<duty_pk>\d+)/record")
    def duty_record(self, request, pk=None, duty_pk=None):
        duty = get_duty_for_user(request.user, pk, duty_pk)
        return self._triage(
            request,
            pk,
            lambda incident, **data: services.incident_duty_record(
                actor=request.user, duty=duty, **data
            ),
            DutyRecordSerializer,
        )

    @extend_schema(request=AwarenessSerializer, responses=IncidentTriageDetailSerializer)
    @action(detail=True, methods=["post"])
    def awareness(self, request, pk=None):
        return self._triage(
            request,
            pk,
            lambda incident, **data: services.incident_awareness_set(
                actor=request.user, incident=incident, **data
            ),
            AwarenessSerializer,
        )

    @extend_schema(request=ReasonSerializer, responses=IncidentTriageDetailSerializer)
    @action(detail=True, methods=["post"], url_path="no-risk/propose")
    def no_risk_propose(self, request, pk=None):
        return self._triage(
            request,
            pk,
            lambda incident, reason: services.incident_no_risk_propose(
                actor=request.user, incident=incident, reason=reason
            ),
            ReasonSerializer,
        )

    @extend_schema(request=None, responses=IncidentTriageDetailSerializer)
    @action(detail=True, methods=["post"], url_path="no-risk/confirm")
    def no_risk_confirm(self, request, pk=None):
        return self._triage(
            request,
            pk,
            lambda incident: services.incident_no_risk_confirm(
                actor=request.user, incident=incident
            ),
        )

    @extend_schema(request=CustomerNoticeSerializer, responses=IncidentTriageDetailSerializer)
    @action(detail=True, methods=["post"], url_path="customer-notice")
    def customer_notice(self, request, pk=None):
        return self._triage(
            request,
            pk,
            lambda incident, **data: services.incident_customer_notice_decide(
                actor=request.user, incident=incident, **data
            ),
            CustomerNoticeSerializer,
        )
