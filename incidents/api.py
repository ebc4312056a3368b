from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from incidents import services
from incidents.forms import IncidentFilterForm
from incidents.permissions import can_triage, get_incident_for_user
from incidents.selectors import incident_triage_list, incidents_with_prefetched_assets
from incidents.serializers import (
    IncidentReportSerializer,
    IncidentSerializer,
    IncidentTriageSerializer,
    IncidentTriageViewSerializer,
    NoteSerializer,
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
        serializer = self.get_serializer_class()(incident, context={"request": self.request})
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

    def retrieve(self, request, pk=None):
        return self._answer(get_incident_for_user(request.user, pk))

    @extend_schema(request=IncidentReportSerializer, responses={201: IncidentSerializer})
    def create(self, request):
        body = IncidentReportSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        incident = services.incident_report(actor=request.user, **body.validated_data)
        return self._answer(incident, status.HTTP_201_CREATED)

    def _triage(self, request, pk, perform):
        incident = get_incident_for_user(request.user, pk)
        try:
            perform(incident)
        except services.NotAllowed as error:
            raise exceptions.PermissionDenied(error.message) from error
        return self._answer(incident)

    @extend_schema(request=IncidentTriageSerializer, responses=IncidentTriageViewSerializer)
    def partial_update(self, request, pk=None):
        body = IncidentTriageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._triage(
            request,
            pk,
            lambda incident: services.incident_triage(
                actor=request.user, incident=incident, **body.validated_data
            ),
        )

    @extend_schema(request=None, responses=IncidentTriageViewSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._triage(
            request,
            pk,
            lambda incident: services.incident_acknowledge(actor=request.user, incident=incident),
        )

    @extend_schema(request=NoteSerializer, responses=IncidentTriageViewSerializer)
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._triage(
            request,
            pk,
            lambda incident: services.incident_note_add(
                actor=request.user, incident=incident, text=body.validated_data["text"]
            ),
        )
