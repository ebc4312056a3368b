from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from consent.models import Purpose
from consent.serializers import CoverageSerializer
from customers.models.access import AccessLevel, AccessRequest
from customers.models.catalogue import Classification, Customer, DataAsset
from customers.models.subject_requests import (
    DataSubjectRequest,
    ErasureTask,
    ReceivedVia,
    SubjectRequestType,
)
from customers.selectors.access import AccessRequestRow
from portal.serializers import (
    IdField,
    KeyRelatedField,
    StepSerializer,
    api_datetime,
    step_list_data,
)

ASSET_FIELDS = [
    "id",
    "name",
    "description",
    "owner",
    "owner_name",
    "classification",
    "classification_confirmed",
    "effective_classification",
    "data_categories",
    "collected_for",
    "customer_count",
    "source_system",
    "retention_date",
]


class AssetSerializer(serializers.Serializer):
    """An asset of the catalogue list, from its plain row (``customers.selectors.catalogue.
    CatalogueRow``): the same fields as one asset's answer, without building the model."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)
    owner_name = serializers.CharField(source="owner", read_only=True)
    classification = serializers.ChoiceField(choices=Classification.choices, read_only=True)
    classification_confirmed = serializers.BooleanField(read_only=True)
    effective_classification = serializers.CharField(read_only=True)
    data_categories = serializers.ListField(
        child=serializers.CharField(), source="data_category_keys", read_only=True
    )
    collected_for = serializers.ListField(
        child=serializers.CharField(), source="collected_for_keys", read_only=True
    )
    customer_count = serializers.IntegerField(read_only=True)
    source_system = serializers.CharField(read_only=True)
    retention_date = serializers.DateField(read_only=True, allow_null=True)


class AssetDetailSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    owner_name = serializers.SerializerMethodField()
    effective_classification = serializers.CharField(read_only=True)
    data_categories = serializers.SlugRelatedField(many=True, read_only=True, slug_field="key")
    collected_for = serializers.SlugRelatedField(many=True, read_only=True, slug_field="key")
    customer_count = serializers.IntegerField(read_only=True)
    classification_reason = serializers.CharField(read_only=True)
    # Null until a compliance officer confirms the class (the schema says so: schemathesis).
    classified_by = serializers.CharField(
        source="classified_by.username", read_only=True, default=None, allow_null=True
    )
    classified_at = serializers.DateTimeField(read_only=True, allow_null=True)
    coverage = serializers.SerializerMethodField()

    class Meta:
        model = DataAsset
        fields = ASSET_FIELDS + [
            "classification_reason",
            "classified_by",
            "classified_at",
            "coverage",
        ]
        read_only_fields = fields

    def get_owner_name(self, asset) -> str:
        return str(asset.owner)

    @extend_schema_field(CoverageSerializer(allow_null=True))
    def get_coverage(self, asset) -> dict | None:
        """Consent coverage for the purpose asked with ``?purpose=KEY``; null otherwise."""
        coverage = self.context.get("coverage")
        return CoverageSerializer(coverage).data if coverage else None


class AssetClassifySerializer(serializers.Serializer):
    classification = serializers.ChoiceField(choices=Classification.choices)
    reason = serializers.CharField(max_length=2000)


class AccessRequestSerializer(serializers.ModelSerializer):
    asset_name = serializers.CharField(source="asset.name")
    purpose = serializers.CharField(source="purpose.key")
    requester = serializers.CharField(source="requester.username")
    status = serializers.CharField(source="chain.status")
    coverage = serializers.SerializerMethodField()
    steps = StepSerializer(source="chain.steps.all", many=True)
    grant = serializers.SerializerMethodField()

    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "asset",
            "asset_name",
            "purpose",
            "requester",
            "justification",
            "level",
            "duration_days",
            "status",
            "coverage",
            "steps",
            "grant",
            "created_at",
        ]
        read_only_fields = fields

    def get_coverage(self, access_request) -> dict:
        """The coverage when the request was made (the request page shows it live)."""
        return {
            "eligible": access_request.eligible_at_request,
            "total": access_request.total_at_request,
        }

    def get_grant(self, access_request) -> int | None:
        grant = getattr(access_request, "grant", None)
        return grant.pk if grant else None


def access_request_list_data(rows: Iterable[AccessRequestRow]) -> list[dict[str, Any]]:
    """What ``AccessRequestSerializer`` writes for each request of ``rows`` (a page of
    ``customers.selectors.access.access_request_rows``): the same keys in the same order, the
    same values and formats, times in the active zone.

    Written from the plain rows rather than through the serializer: DRF's field-by-field
    walk over a request and its steps (about 50 fields) cost about 0.3 ms a request, a
    quarter of a 25-request page's time at scale. The serializer still defines the shape
    and the schema; tests/customers/test_access_api_list.py holds every row to the detail
    endpoint's answer for the same request. Raises only what ``api_datetime`` raises."""
    zone = timezone.get_current_timezone()
    return [
        {
            "id": row.pk,
            "asset": row.asset.pk,
            "asset_name": row.asset.name,
            "purpose": row.purpose.key,
            "requester": row.requester.username,
            "justification": row.justification,
            "level": row.level,
            "duration_days": row.duration_days,
            "status": row.chain.status,
            "coverage": {"eligible": row.eligible_at_request, "total": row.total_at_request},
            "steps": step_list_data(row.chain.steps, zone),
            "grant": row.grant.pk if row.grant else None,
            "created_at": api_datetime(row.created_at, zone),
        }
        for row in rows
    ]


class AccessRequestCreateSerializer(serializers.Serializer):
    asset = IdField()
    purpose = KeyRelatedField(slug_field="key", queryset=Purpose.objects.filter(active=True))
    justification = serializers.CharField(max_length=5000)
    level = serializers.ChoiceField(choices=AccessLevel.choices, default=AccessLevel.VIEW)
    duration_days = serializers.IntegerField(min_value=1, max_value=90, default=30)


class GrantSerializer(serializers.Serializer):
    """A grant, from its plain row (``customers.selectors.grants.GrantRow``)."""

    id = serializers.IntegerField(read_only=True)
    user = serializers.CharField(source="user.username", read_only=True)
    asset = serializers.IntegerField(source="asset_id", read_only=True)
    asset_name = serializers.CharField(source="asset.name", read_only=True)
    purpose = serializers.CharField(source="purpose.key", read_only=True)
    level = serializers.ChoiceField(choices=AccessLevel.choices, read_only=True)
    status = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
    revoked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    revoked_by = serializers.CharField(
        source="revoked_by.username", read_only=True, default=None, allow_null=True
    )
    revoke_reason = serializers.CharField(read_only=True)
    request = serializers.IntegerField(source="request_id", read_only=True)


# --- Data subject requests -------------------------------------------------------------


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name", "email", "phone", "organisation", "country", "created_at"]
        read_only_fields = fields


class ErasureTaskSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    owner_name = serializers.CharField(source="owner.__str__")
    assets = serializers.SerializerMethodField()
    confirmed_by = serializers.CharField(
        source="confirmed_by.username", default=None, allow_null=True
    )
    confirmed = serializers.BooleanField(source="is_confirmed")

    class Meta:
        model = ErasureTask
        fields = [
            "id",
            "request",
            "owner",
            "owner_name",
            "assets",
            "confirmed",
            "confirmed_at",
            "confirmed_by",
            "note",
            "created_at",
        ]
        read_only_fields = fields

    def get_assets(self, task) -> list[dict]:
        return [{"id": asset.pk, "name": asset.name} for asset in task.assets.all()]


class OwnerErasureTaskSerializer(ErasureTaskSerializer):
    """What an owner needs to delete the customer in their systems: who, and by when."""

    reference = serializers.CharField(source="request.reference")
    due_on = serializers.DateField(source="request.due_on")
    customer = CustomerSerializer(source="request.customer")

    class Meta(ErasureTaskSerializer.Meta):
        fields = ErasureTaskSerializer.Meta.fields + ["reference", "due_on", "customer"]
        read_only_fields = fields


class SubjectRequestSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name")
    customer_email = serializers.CharField(source="customer.email")
    purposes = serializers.SlugRelatedField(many=True, read_only=True, slug_field="key")
    verified_by = serializers.CharField(source="verified_by.username")
    closed_by = serializers.CharField(source="closed_by.username", default=None, allow_null=True)
    tasks = ErasureTaskSerializer(source="erasure_tasks", many=True)
    # Plain text in the schema: a second "status" enum would collide with the others'.
    status = serializers.CharField(help_text="open or closed")  # i18n: not shown (API schema)

    class Meta:
        model = DataSubjectRequest
        fields = [
            "id",
            "reference",
            "type",
            "customer",
            "customer_name",
            "customer_email",
            "status",
            "received_on",
            "received_via",
            "identity_verification",
            "verified_by",
            "verified_at",
            "due_on",
            "extension_months",
            "extension_reason",
            "purposes",
            "notes",
            "response",
            "report_generated_at",
            "closed_at",
            "closed_by",
            "tasks",
            "created_at",
        ]
        read_only_fields = fields


class SubjectRequestCreateSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=SubjectRequestType.choices)
    customer = IdField()
    identity_verification = serializers.CharField(max_length=2000, allow_blank=True)
    received_on = serializers.DateField(required=False)
    received_via = serializers.ChoiceField(choices=ReceivedVia.choices, default=ReceivedVia.EMAIL)
    purposes = KeyRelatedField(
        many=True,
        slug_field="key",
        queryset=Purpose.objects.filter(active=True),
        required=False,
        error_messages={"does_not_exist": _("Unknown purpose {value!r}.")},
    )
    notes = serializers.CharField(max_length=5000, allow_blank=True, required=False)


class ExtendSerializer(serializers.Serializer):
    months = serializers.IntegerField(min_value=1, max_value=2)
    reason = serializers.CharField(max_length=2000)


class CloseSerializer(serializers.Serializer):
    response = serializers.CharField(max_length=5000)


class ConfirmSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, allow_blank=True, required=False)
