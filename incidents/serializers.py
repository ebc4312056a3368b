"""Input and output shapes of the incidents API (design.md, "JSON API")."""

from datetime import tzinfo
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.models.catalogue import DataAsset
from customers.visibility import asset_list_for
from incidents.list_rows import IncidentApiRow
from incidents.models import Alert, CustomerNotice, Incident, IncidentDuty, Regime, Severity, Status
from incidents.selectors import incident_duties, reporter_label, responders
from portal.input_limits import column_max
from portal.serializers import KeyRelatedField, api_datetime

# The OpenAPI schema's text, for programmers.
REPORTER_HELP = 'A name, or "confidential".'  # i18n: not shown (schema)


class IncidentReportSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField()
    discovered_at = serializers.DateTimeField(required=False)
    assets = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=DataAsset.objects.none()
    )
    estimated_customers = serializers.IntegerField(
        min_value=0,
        max_value=column_max(Incident, "estimated_customers"),
        required=False,
        allow_null=True,
    )
    confidential_reporter = serializers.BooleanField(required=False, default=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An asset the reporter cannot see answers like an unknown one.
        # (The schema generator builds it without a request: no user, no asset.)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        self.fields["assets"].child_relation.queryset = asset_list_for(user)


class IncidentSerializer(serializers.ModelSerializer):
    """What anyone who may see the incident reads; the reporter as the viewer may see it."""

    reporter = serializers.SerializerMethodField()
    assets = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    # Empty until triage: a plain string, so the schema allows "" as well as the levels.
    severity = serializers.CharField(
        read_only=True,
        # The OpenAPI schema's text, for programmers:
        help_text='"low", "medium", "high", "critical", or "" before triage.',  # i18n: not shown
    )

    class Meta:
        model = Incident
        fields = [
            "id",
            "reference",
            "title",
            "description",
            "discovered_at",
            "reported_at",
            "assets",
            "estimated_customers",
            "confidential_reporter",
            "status",
            "severity",
            "reporter",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(help_text=REPORTER_HELP))
    def get_reporter(self, incident) -> str:
        return reporter_label(incident, self.context["request"].user)


class IncidentTriageViewSerializer(IncidentSerializer):
    """What Compliance and Legal read in addition."""

    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    acknowledged_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    # A plain string here: the same choices are the input enum of the Art. 34 decision, and
    # one enum must not carry two names in the schema.
    customer_notice = serializers.CharField(read_only=True)
    next_due = serializers.DateTimeField(read_only=True, default=None, allow_null=True)
    overdue = serializers.BooleanField(read_only=True, default=False)

    class Meta(IncidentSerializer.Meta):
        fields = IncidentSerializer.Meta.fields + [
            "assignee",
            "acknowledged_at",
            "acknowledged_by",
            "personal_data_breach",
            "breach_reason",
            "aware_at",
            "customer_notice",
            "next_due",
            "overdue",
            "closed_at",
        ]
        read_only_fields = fields


def incident_list_data(
    rows: list[IncidentApiRow], *, viewer: Any, triage: bool
) -> list[dict[str, Any]]:
    """What ``IncidentTriageViewSerializer`` (``triage``, for Compliance and Legal), else
    ``IncidentSerializer``, writes for each incident of ``rows`` (a page of
    ``incidents.list_rows.incident_api_pages``) as ``viewer`` reads it: the same keys in
    the same order, the same values and formats, times in the active zone.

    Written from the plain rows rather than through the serializers: DRF's field-by-field
    walk over model instances built for it was about half of a 50-row page's time. The
    serializers still define the shape and the schema; tests/incidents/test_api_list.py
    holds every row to the detail endpoint's answer for the same incident.
    """
    zone = timezone.get_current_timezone()
    items = [_incident_item(row, viewer, zone) for row in rows]
    if triage:
        for item, row in zip(items, rows, strict=True):
            item.update(_triage_fields(row, zone))
    return items


def _incident_item(row: IncidentApiRow, viewer: Any, zone: tzinfo) -> dict[str, Any]:
    """``IncidentSerializer``'s fields of ``row``, in its order."""
    return {
        "id": row.id,
        "reference": row.reference,
        "title": row.title,
        "description": row.description,
        "discovered_at": api_datetime(row.discovered_at, zone),
        "reported_at": api_datetime(row.reported_at, zone),
        "assets": row.assets,
        "estimated_customers": row.estimated_customers,
        "confidential_reporter": row.confidential_reporter,
        "status": row.status,
        "severity": row.severity,
        "reporter": reporter_label(row, viewer),
    }


def _triage_fields(row: IncidentApiRow, zone: tzinfo) -> dict[str, Any]:
    """What ``IncidentTriageViewSerializer`` adds to ``IncidentSerializer``'s fields of
    ``row``, in its order."""
    return {
        "assignee": row.assignee,
        "acknowledged_at": api_datetime(row.acknowledged_at, zone),
        "acknowledged_by": row.acknowledged_by,
        "personal_data_breach": row.personal_data_breach,
        "breach_reason": row.breach_reason,
        "aware_at": api_datetime(row.aware_at, zone),
        "customer_notice": row.customer_notice,
        "next_due": api_datetime(row.next_due, zone),
        "overdue": row.overdue,
        "closed_at": api_datetime(row.closed_at, zone),
    }


class IncidentTriageSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    personal_data_breach = serializers.BooleanField(required=False)
    breach_reason = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    assignee = KeyRelatedField(
        slug_field="username", queryset=responders(), required=False, allow_null=True
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=10000)


class DutySerializer(serializers.ModelSerializer):
    regime = serializers.CharField(source="duty.regime.key", read_only=True)
    key = serializers.CharField(source="duty.key", read_only=True)
    name = serializers.CharField(source="duty.name", read_only=True)
    completed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = IncidentDuty
        fields = [
            "id",
            "regime",
            "key",
            "name",
            "due_at",
            "state",
            "completed_at",
            "completed_by",
            "reference",
            "delay_reason",
            "waived_reason",
        ]
        read_only_fields = fields


class IncidentTriageDetailSerializer(IncidentTriageViewSerializer):
    """One incident as Compliance and Legal read it: with its duties and decisions."""

    duties = serializers.SerializerMethodField()
    no_risk_proposed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    no_risk_confirmed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta(IncidentTriageViewSerializer.Meta):
        fields = IncidentTriageViewSerializer.Meta.fields + [
            "awareness_reason",
            "no_risk_reason",
            "no_risk_proposed_by",
            "no_risk_confirmed_by",
            "customer_notice_reason",
            "duties",
        ]
        read_only_fields = fields

    @extend_schema_field(DutySerializer(many=True))
    def get_duties(self, incident) -> list:
        return DutySerializer(incident_duties(incident), many=True).data


class RegimeApplySerializer(serializers.Serializer):
    regime = KeyRelatedField(slug_field="key", queryset=Regime.objects.all())
    applied_at = serializers.DateTimeField(required=False, allow_null=True)


class DutyRecordSerializer(serializers.Serializer):
    completed_at = serializers.DateTimeField(required=False, allow_null=True)
    reference = serializers.CharField(max_length=200)
    delay_reason = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class NoRiskReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000)


class AwarenessSerializer(NoRiskReasonSerializer):
    aware_at = serializers.DateTimeField()


class CustomerNoticeSerializer(NoRiskReasonSerializer):
    decision = serializers.ChoiceField(
        choices=[c for c in CustomerNotice.choices if c[0]],
    )


class AlertSerializer(serializers.ModelSerializer):
    """A misuse alert (design.md: ``id, signal, subject, occurred_at, evidence, status``):
    ``subject`` names the people concerned (usernames), ``evidence`` the audit event ids
    and figures behind it; ``incident`` is the reference of the incident opened from it."""

    subject = serializers.CharField(source="subject_label", read_only=True)
    incident = serializers.CharField(
        source="incident.reference", default=None, allow_null=True, read_only=True
    )
    handled_by = serializers.CharField(
        source="handled_by.username", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "signal",
            "subject",
            "occurred_at",
            "evidence",
            "status",
            "summary",
            "raised_at",
            "handled_by",
            "handled_at",
            "dismiss_reason",
            "incident",
        ]
        read_only_fields = fields


class AlertDismissSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000)
