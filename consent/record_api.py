"""``GET /api/records-of-processing/`` (``?as_of=DATE``): the record of processing activities
(GDPR Art. 30) as JSON, for compliance and legal only (404 for anyone else). Each call is an
export of the record, so an audit event (``record.export``, format ``api``)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, views
from rest_framework.response import Response

from consent.forms import RecordAsOfForm
from consent.permissions import check_record_reader
from consent.processing_record import processing_record
from consent.services.processing_activities import processing_record_exported


class EvidenceSerializer(serializers.Serializer):
    label = serializers.CharField()
    url = serializers.CharField()


class RecordRowSerializer(serializers.Serializer):
    """One activity: the contract's fields (design.md), then the evidence links."""

    name = serializers.CharField()
    purposes = serializers.ListField(child=serializers.CharField())
    lawful_bases = serializers.ListField(child=serializers.CharField())
    data_subjects = serializers.ListField(child=serializers.CharField())
    data_categories = serializers.ListField(child=serializers.CharField())
    recipients = serializers.ListField(child=serializers.CharField())
    transfers = serializers.ListField(child=serializers.CharField())
    erasure_limits = serializers.ListField(child=serializers.CharField())
    security_measures = serializers.CharField()
    description = serializers.CharField()
    joint_controllers = serializers.CharField()
    controller = serializers.CharField()
    dpo = serializers.CharField()
    assets = EvidenceSerializer(many=True)
    grants = EvidenceSerializer(many=True)
    sharing = EvidenceSerializer(many=True)


class RecordGapsSerializer(serializers.Serializer):
    uncovered_purposes = serializers.ListField(child=serializers.CharField())
    activities_without_basis = serializers.ListField(child=serializers.CharField())
    unsafe_transfers = EvidenceSerializer(many=True)
    past_retention = EvidenceSerializer(many=True)


class RecordSerializer(serializers.Serializer):
    as_of = serializers.DateField(allow_null=True)
    controller = serializers.CharField()
    dpo = serializers.CharField()
    rows = RecordRowSerializer(many=True)
    gaps = RecordGapsSerializer()


AS_OF_HELP = "A past day"  # i18n: not shown (the API schema, read by programmers)


class RecordOfProcessingView(views.APIView):
    """The record today, or as it stood at the end of ``as_of`` (YYYY-MM-DD, not in the
    future: else 400 naming ``as_of``)."""

    @extend_schema(
        parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE, description=AS_OF_HELP)],
        responses=RecordSerializer,
    )
    def get(self, request):
        check_record_reader(request.user)
        form = RecordAsOfForm(request.query_params)
        if not form.is_valid():
            raise exceptions.ValidationError(
                {
                    name: [e["message"] for e in errors]
                    for name, errors in form.errors.get_json_data().items()
                }
            )
        record = processing_record(as_of=form.cleaned_data.get("as_of"))
        as_of = record.as_of.isoformat() if record.as_of else ""
        processing_record_exported(
            actor=request.user, file_format="api", as_of=as_of, rows=len(record.rows)
        )
        return Response(RecordSerializer(record).data)
