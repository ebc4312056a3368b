from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from consent.countries import outside_eu_eea
from consent.models import (
    ConsentRecord,
    ConsentSource,
    ConsentState,
    ConsentStatus,
    Purpose,
    SharingPackage,
    SharingRequest,
    SharingWithdrawal,
    TransferSafeguard,
)
from consent.sharing_selectors import deletion_status
from portal.serializers import IdField, KeyRelatedField, StepSerializer


class CoverageSerializer(serializers.Serializer):
    purpose = serializers.CharField()
    lawful_basis = serializers.CharField()
    eligible = serializers.IntegerField()
    total = serializers.IntegerField()
    sentence = serializers.CharField()


class ConsentRecordSerializer(serializers.ModelSerializer):
    purpose = serializers.CharField(source="purpose.key")
    recorded_by = serializers.CharField(
        source="recorded_by.username", default=None, allow_null=True
    )

    class Meta:
        model = ConsentRecord
        fields = [
            "id",
            "customer",
            "purpose",
            "status",
            "source",
            "evidence",
            "notice_version",
            "effective_at",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class ConsentStateSerializer(serializers.ModelSerializer):
    purpose = serializers.CharField(source="purpose.key")
    record = serializers.IntegerField(source="record_id")

    class Meta:
        model = ConsentState
        fields = ["purpose", "status", "effective_at", "record"]
        read_only_fields = fields


class CustomerConsentsSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    current = ConsentStateSerializer(many=True)
    history = ConsentRecordSerializer(many=True)


class ConsentCreateSerializer(serializers.Serializer):
    """Input shape of ``POST /api/consents/``; the customer is looked up by the view
    through the same loader as the customer page."""

    customer = IdField()
    purpose = KeyRelatedField(
        slug_field="key",
        queryset=Purpose.objects.filter(active=True),
        error_messages={"does_not_exist": _("Unknown purpose {value!r}.")},
    )
    status = serializers.ChoiceField(choices=ConsentStatus.choices)
    source = serializers.ChoiceField(choices=ConsentSource.choices)
    evidence = serializers.CharField(max_length=500, allow_blank=True, required=False)
    notice_version = serializers.CharField(max_length=50, allow_blank=True, required=False)
    effective_at = serializers.DateTimeField(required=False)


# --- External sharing ------------------------------------------------------------------


class SharingRequestCreateSerializer(serializers.Serializer):
    """Input shape of ``POST /api/sharing-requests/``; the service checks the rules (the
    agreement, the country code, the categories against the asset's)."""

    asset = IdField()
    purpose = KeyRelatedField(
        slug_field="key",
        queryset=Purpose.objects.filter(active=True),
        error_messages={"does_not_exist": _("Unknown purpose {value!r}.")},
    )
    justification = serializers.CharField(max_length=5000)
    recipient = serializers.CharField(max_length=200)
    recipient_country = serializers.CharField(max_length=10)
    agreement_reference = serializers.CharField(max_length=200)
    agreement_end = serializers.DateField()
    categories = serializers.ListField(
        child=serializers.CharField(max_length=200), allow_empty=False
    )
    deletion_confirmation_required = serializers.BooleanField(default=True)


class SharingDecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    transfer_safeguard = serializers.ChoiceField(
        choices=TransferSafeguard.choices, required=False, allow_blank=True
    )


class SharingPackageSerializer(serializers.ModelSerializer):
    available = serializers.SerializerMethodField()

    class Meta:
        model = SharingPackage
        fields = [
            "export_id",
            "created_at",
            "expires_at",
            "row_count",
            "columns",
            "deleted_at",
            "download_count",
            "available",
        ]
        read_only_fields = fields

    def get_available(self, package) -> bool:
        return package.is_available()


class SharingWithdrawalSerializer(serializers.ModelSerializer):
    withdrawn_at = serializers.DateTimeField(source="record.effective_at")
    forwarded_by = serializers.CharField(
        source="forwarded_by.username", default=None, allow_null=True
    )

    class Meta:
        model = SharingWithdrawal
        fields = ["id", "customer", "withdrawn_at", "created_at", "forwarded_at", "forwarded_by"]
        read_only_fields = fields


class SharingRequestSerializer(serializers.ModelSerializer):
    asset_name = serializers.CharField(source="asset.name")
    purpose = serializers.CharField(source="purpose.key")
    requester = serializers.CharField(source="requester.username")
    status = serializers.CharField(source="chain.status")
    recipient_outside_eu_eea = serializers.SerializerMethodField()
    categories = serializers.SlugRelatedField(many=True, read_only=True, slug_field="key")
    coverage = serializers.SerializerMethodField()
    steps = StepSerializer(source="chain.steps.all", many=True)
    package = serializers.SerializerMethodField()
    withdrawals_to_forward = serializers.SerializerMethodField()
    deletion = serializers.SerializerMethodField()

    class Meta:
        model = SharingRequest
        fields = [
            "id",
            "asset",
            "asset_name",
            "purpose",
            "requester",
            "recipient",
            "recipient_country",
            "recipient_outside_eu_eea",
            "justification",
            "agreement_reference",
            "agreement_end",
            "categories",
            "deletion_confirmation_required",
            "status",
            "coverage",
            "steps",
            "package",
            "withdrawals_to_forward",
            "deletion",
            "created_at",
        ]
        read_only_fields = fields

    def get_recipient_outside_eu_eea(self, sharing_request) -> bool:
        return outside_eu_eea(sharing_request.recipient_country)

    def get_coverage(self, sharing_request) -> dict:
        """The sharing coverage when the request was made."""
        return {
            "eligible": sharing_request.eligible_at_request,
            "total": sharing_request.total_at_request,
        }

    @extend_schema_field(SharingPackageSerializer(allow_null=True))
    def get_package(self, sharing_request) -> dict | None:
        package = getattr(sharing_request, "package", None)
        return SharingPackageSerializer(package).data if package else None

    @extend_schema_field(SharingWithdrawalSerializer(many=True))
    def get_withdrawals_to_forward(self, sharing_request) -> list:
        """Withdrawals the recipient must be told of (GDPR Art. 19), done ones included."""
        package = getattr(sharing_request, "package", None)
        if package is None:
            return []
        return SharingWithdrawalSerializer(package.withdrawals.all(), many=True).data

    def get_deletion(self, sharing_request) -> dict:
        return {
            "status": deletion_status(sharing_request),
            "confirmed_at": sharing_request.deletion_confirmed_at,
            "confirmed_by": getattr(sharing_request.deletion_confirmed_by, "username", None),
            "evidence": sharing_request.deletion_evidence,
        }
