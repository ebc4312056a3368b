from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from consent.serializers import CoverageSerializer
from customers.models import Classification, DataAsset


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
    classified_by = serializers.CharField(
        source="classified_by.username", read_only=True, default=None
    )
    classified_at = serializers.DateTimeField(read_only=True)
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
