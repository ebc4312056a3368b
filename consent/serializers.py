from rest_framework import serializers

from consent.models import ConsentRecord, ConsentSource, ConsentState, ConsentStatus, Purpose


class CoverageSerializer(serializers.Serializer):
    purpose = serializers.CharField()
    lawful_basis = serializers.CharField()
    eligible = serializers.IntegerField()
    total = serializers.IntegerField()
    sentence = serializers.CharField()


class ConsentRecordSerializer(serializers.ModelSerializer):
    purpose = serializers.CharField(source="purpose.key")
    recorded_by = serializers.CharField(source="recorded_by.username", default=None)

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

    customer = serializers.IntegerField(min_value=1)
    purpose = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Purpose.objects.filter(active=True),
        error_messages={"does_not_exist": "Unknown purpose {value!r}."},
    )
    status = serializers.ChoiceField(choices=ConsentStatus.choices)
    source = serializers.ChoiceField(choices=ConsentSource.choices)
    evidence = serializers.CharField(max_length=500, allow_blank=True, required=False)
    notice_version = serializers.CharField(max_length=50, allow_blank=True, required=False)
    effective_at = serializers.DateTimeField(required=False)
