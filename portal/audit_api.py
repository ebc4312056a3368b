"""The audit log's JSON API: compliance only, 404 for everyone else.

Not in ``portal/api.py``: DRF imports that module for its pagination class while loading
its own generic views, so it cannot define views itself.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, serializers, views
from rest_framework.response import Response

from portal.api import CappedCountPagination
from portal.audit import HASHED_FIELDS
from portal.audit_verify import MAX_POSITION, range_error, verify_audit
from portal.forms import AuditFilterForm
from portal.models import AuditEvent
from portal.permissions import check_audit_log_reader
from portal.selectors import audit_event_list_for


class AuditEventSerializer(serializers.ModelSerializer):
    """Every stored field, ``actor`` being the username then (``actor_label``)."""

    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "actor", *HASHED_FIELDS, "hash", "position", "key_id"]
        read_only_fields = fields


class AuditVerifySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_bad = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    anchors = serializers.IntegerField()
    unsealed = serializers.IntegerField()
    last_position = serializers.IntegerField()


class AuditVerifyRangeSerializer(serializers.Serializer):
    """The query parameters of ``GET /api/audit/verify/``: where the walk starts and stops.
    A malformed one is a 400 naming it; the verification itself always answers 200."""

    from_position = serializers.IntegerField(required=False, min_value=1, max_value=MAX_POSITION)
    to_position = serializers.IntegerField(required=False, min_value=1, max_value=MAX_POSITION)
    from_checkpoint = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict) -> dict:
        span = attrs.get("from_position"), attrs.get("to_position"), attrs["from_checkpoint"]
        if problem := range_error(*span):
            name, message = problem
            raise serializers.ValidationError({name: [message]})
        return attrs


@extend_schema(
    parameters=[
        OpenApiParameter(
            "actor",
            OpenApiTypes.STR,
            description="Username, system or anonymous",  # i18n: not shown (schema)
        ),
        OpenApiParameter(
            "action",
            OpenApiTypes.STR,
            description="Action or its prefix",  # i18n: not shown (schema)
        ),
        OpenApiParameter(
            "asset",
            OpenApiTypes.INT,
            description="Data asset id",  # i18n: not shown (schema)
        ),
        OpenApiParameter("date_from", OpenApiTypes.DATE),
        OpenApiParameter("date_to", OpenApiTypes.DATE),
    ]
)
class AuditEventListView(generics.ListAPIView):
    """The audit log, newest first, with the page's filters."""

    serializer_class = AuditEventSerializer
    pagination_class = CappedCountPagination

    def get_queryset(self):
        check_audit_log_reader(self.request.user)
        form = AuditFilterForm(self.request.query_params)
        if not form.is_valid():
            raise exceptions.ValidationError(form.errors.get_json_data())
        return audit_event_list_for(self.request.user, **form.filters())


class AuditVerifyView(views.APIView):
    """Walk the audit log now, the whole of it or a range: ``{ok, checked, first_bad}``
    (plus the reason) with 200 whatever the log holds; 400 naming a malformed parameter."""

    @extend_schema(parameters=[AuditVerifyRangeSerializer], responses=AuditVerifySerializer)
    def get(self, request):
        check_audit_log_reader(request.user)
        span = AuditVerifyRangeSerializer(data=request.query_params)
        span.is_valid(raise_exception=True)
        result = verify_audit(**span.validated_data)
        return Response(AuditVerifySerializer(result).data)
