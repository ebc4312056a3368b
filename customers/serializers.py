from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from consent.models import Purpose
from consent.serializers import CoverageSerializer
from customers.models import AccessGrant, AccessLevel, AccessRequest, Classification, DataAsset


class AssetSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    owner_name = serializers.SerializerMethodField()
    effective_classification = serializers.CharField(read_only=True)
    data_categories = serializers.SlugRelatedField(many=True, read_only=True, slug_field="key")
    collected_for = serializers.SlugRelatedField(many=True, read_only=True, slug_field="key")
    customer_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = DataAsset
        fields = [
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
        read_only_fields = fields

    def get_owner_name(self, asset) -> str:
        return str(asset.owner)


class AssetDetailSerializer(AssetSerializer):
    classification_reason = serializers.CharField(read_only=True)
    # Null until a compliance officer confirms the class (the schema says so: schemathesis).
    classified_by = serializers.CharField(
        source="classified_by.username", read_only=True, default=None, allow_null=True
    )
    classified_at = serializers.DateTimeField(read_only=True, allow_null=True)
    coverage = serializers.SerializerMethodField()

    class Meta(AssetSerializer.Meta):
        fields = AssetSerializer.Meta.fields + [
            "classification_reason",
            "classified_by",
            "classified_at",
            "coverage",
        ]

    @extend_schema_field(CoverageSerializer(allow_null=True))
    def get_coverage(self, asset) -> dict | None:
        """Consent coverage for the purpose asked with ``?purpose=KEY``; null otherwise."""
        coverage = self.context.get("coverage")
        return CoverageSerializer(coverage).data if coverage else None


class AssetClassifySerializer(serializers.Serializer):
    classification = serializers.ChoiceField(choices=Classification.choices)
    reason = serializers.CharField(max_length=2000)


class StepSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    role = serializers.CharField()
    status = serializers.CharField()
    replaces_owner = serializers.BooleanField()
    approver = serializers.CharField(source="approver.username", default=None)
    decided_by = serializers.CharField(source="decided_by.username", default=None)
    decided_at = serializers.DateTimeField()
    reason = serializers.CharField()


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


class AccessRequestCreateSerializer(serializers.Serializer):
    asset = serializers.IntegerField(min_value=1)
    purpose = serializers.SlugRelatedField(
        slug_field="key", queryset=Purpose.objects.filter(active=True)
    )
    justification = serializers.CharField(max_length=5000)
    level = serializers.ChoiceField(choices=AccessLevel.choices, default=AccessLevel.VIEW)
    duration_days = serializers.IntegerField(min_value=1, max_value=90, default=30)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class GrantSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    asset_name = serializers.CharField(source="asset.name")
    purpose = serializers.CharField(source="purpose.key")
    status = serializers.CharField()
    revoked_by = serializers.CharField(source="revoked_by.username", default=None)

    class Meta:
        model = AccessGrant
        fields = [
            "id",
            "user",
            "asset",
            "asset_name",
            "purpose",
            "level",
            "status",
            "created_at",
            "expires_at",
            "revoked_at",
            "revoked_by",
            "revoke_reason",
            "request",
        ]
        read_only_fields = fields
