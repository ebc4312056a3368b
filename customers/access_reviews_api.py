"""The JSON API of access reviews: ``GET/POST /api/reviews/``, ``GET /api/reviews/{id}/``
(with the progress per reviewer), ``GET /api/reviews/{id}/items/`` (the items the caller
sees, with their evidence), ``POST /api/review-items/{id}/decide/`` and
``POST /api/review-items/accept-recommendations/``."""

from datetime import datetime

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from consent.models import Purpose
from customers import policies
from customers.models.access_reviews import (
    AccessReview,
    AccessReviewItem,
    ReviewDecision,
    ReviewRepeat,
)
from customers.models.catalogue import Classification, DataAsset
from customers.permissions import get_review_for_user, get_review_item_for_user
from customers.selectors.access_reviews import (
    evidence,
    recommendation,
    review_item_list_for,
    review_items_chosen,
    review_items_for,
    review_list_for,
    review_progress,
)
from customers.services.access_reviews import (
    ReviewScope,
    ReviewSettings,
    review_item_decide,
    review_items_accept_recommendations,
    review_start,
)
from portal.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent_create
from portal.models import User
from portal.serializers import IdField, KeyRelatedField, ReasonSerializer


class ReviewSerializer(serializers.ModelSerializer):
    # Null for a campaign the portal started itself (a mover's re-confirmation).
    started_by = serializers.CharField(source="started_by.username", default=None, allow_null=True)
    status = serializers.SerializerMethodField()
    items = serializers.IntegerField(source="item_count", read_only=True)
    undecided = serializers.IntegerField(source="undecided_count", read_only=True)

    class Meta:
        model = AccessReview
        fields = [
            "id",
            "name",
            "scope_classification",
            "scope_asset",
            "scope_owner",
            "scope_purpose",
            "scope_holder",
            "due_at",
            "undecided_outcome",
            "repeat",
            "unused_days",
            "started_by",
            "started_at",
            "closed_at",
            "status",
            "items",
            "undecided",
        ]

    def get_status(self, review: AccessReview) -> str:
        return "open" if review.is_open else "closed"


class ReviewCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    due_at = serializers.DateTimeField()
    undecided_outcome = serializers.ChoiceField(ReviewDecision.choices)
    repeat = serializers.ChoiceField(ReviewRepeat.choices, default=ReviewRepeat.NONE)
    unused_days = serializers.IntegerField(min_value=1, max_value=365, default=30)
    classification = serializers.ChoiceField(Classification.choices, required=False)
    asset = serializers.PrimaryKeyRelatedField(queryset=DataAsset.objects.all(), required=False)
    owner = KeyRelatedField(slug_field="username", queryset=User.objects.all(), required=False)
    purpose = KeyRelatedField(slug_field="key", queryset=Purpose.objects.all(), required=False)

    def settings(self) -> ReviewSettings:
        data = self.validated_data
        return ReviewSettings(
            name=data["name"],
            due_at=data["due_at"],
            undecided_outcome=data["undecided_outcome"],
            repeat=data["repeat"],
            unused_days=data["unused_days"],
            scope=ReviewScope(
                classification=data.get("classification", ""),
                asset=data.get("asset"),
                owner=data.get("owner"),
                purpose=data.get("purpose"),
            ),
        )


class ReviewItemSerializer(serializers.ModelSerializer):
    """An item with its evidence: as kept at the decision once decided, live before."""

    holder = serializers.CharField(source="grant.user.username")
    asset = serializers.IntegerField(source="grant.asset_id")
    asset_name = serializers.CharField(source="grant.asset.name")
    purpose = serializers.CharField(source="grant.purpose.key")
    level = serializers.CharField(source="grant.level")
    grant_status = serializers.CharField(source="grant.status")
    reviewer = serializers.SerializerMethodField()
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)
    evidence = serializers.SerializerMethodField()
    recommendation = serializers.SerializerMethodField()

    class Meta:
        model = AccessReviewItem
        fields = [
            "id",
            "review",
            "grant",
            "holder",
            "asset",
            "asset_name",
            "purpose",
            "level",
            "grant_status",
            "reviewer",
            "fallback_reason",
            "evidence",
            "recommendation",
            "decision",
            "decided_by",
            "decided_at",
            "reason",
            "automatic",
        ]

    def get_reviewer(self, item: AccessReviewItem) -> str:
        return item.reviewer.username if item.reviewer else "compliance"

    def get_evidence(self, item: AccessReviewItem) -> dict:
        seen = evidence(item)

        def when(value: datetime | None) -> str:
            return value.isoformat() if value else "never"

        return {
            "last_viewed_at": when(seen.viewed_at),
            "last_exported_at": when(seen.exported_at),
            "uses_last_90_days": seen.uses,
            "last_used_at": when(seen.last_used_at),
            "coverage": {"eligible": item.coverage_eligible, "total": item.coverage_total},
        }

    def get_recommendation(self, item: AccessReviewItem) -> str:
        return recommendation(item)


class DecideSerializer(ReasonSerializer):
    decision = serializers.ChoiceField(ReviewDecision.choices)


class AcceptRecommendationsSerializer(ReasonSerializer):
    items = serializers.ListField(child=IdField(), min_length=1, max_length=100)


class ReviewViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Access review campaigns: compliance sees and starts them; a reviewer sees those with
    an item of theirs, and their own items only."""

    serializer_class = ReviewSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return (
            review_list_for(self.request.user)
            .annotate(
                item_count=Count("items"),
                undecided_count=Count("items", filter=Q(items__decision="")),
            )
            .order_by("-started_at", "-id")
        )

    def get_object(self):
        review = get_review_for_user(self.request.user, self.kwargs["pk"])
        return self.get_queryset().get(pk=review.pk)

    def retrieve(self, request, *args, **kwargs):
        review = self.get_object()
        data = ReviewSerializer(review).data
        data["progress"] = [
            {
                "reviewer": row.reviewer,
                "done": row.done,
                "kept": row.kept,
                "revoked": row.revoked,
                "undecided": row.undecided,
            }
            for row in review_progress(review, request.user)
        ]
        return Response(data)

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=ReviewCreateSerializer,
        responses={201: ReviewSerializer},
    )
    @idempotent_create
    def create(self, request):
        policies.require_may_start_access_review(request.user)
        body = ReviewCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        review = review_start(actor=request.user, settings=body.settings())
        fresh = self.get_queryset().get(pk=review.pk)
        return Response(ReviewSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=ReviewItemSerializer(many=True))
    @action(detail=True, methods=["get"])
    def items(self, request, pk=None):
        review = get_review_for_user(request.user, pk)
        items = review_items_for(request.user, review)
        if request.query_params.get("undecided") == "1":
            items = items.filter(decision="")
        page = self.paginate_queryset(items)
        return self.get_paginated_response(ReviewItemSerializer(page, many=True).data)


class ReviewItemViewSet(viewsets.GenericViewSet):
    """Deciding review items: the item's reviewer (compliance for the fallback items)."""

    serializer_class = ReviewItemSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return review_item_list_for(self.request.user)

    def _fresh(self, item: AccessReviewItem) -> dict:
        fresh = review_items_for(self.request.user, item.review).get(pk=item.pk)
        return ReviewItemSerializer(fresh).data

    @extend_schema(request=DecideSerializer, responses=ReviewItemSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        item = get_review_item_for_user(request.user, pk)
        policies.require_may_decide_review_item(request.user, item)
        body = DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = review_item_decide(
            item=item,
            actor=request.user,
            decision=body.validated_data["decision"],
            reason=body.validated_data["reason"],
        )
        return Response(self._fresh(item))

    @extend_schema(request=AcceptRecommendationsSerializer, responses={200: dict})
    @action(detail=False, methods=["post"], url_path="accept-recommendations")
    def accept_recommendations(self, request):
        body = AcceptRecommendationsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        items, missing = review_items_chosen(request.user, body.validated_data["items"])
        if missing:
            raise serializers.ValidationError(
                {"items": [_("No such review items: %(ids)s.") % {"ids": missing}]}
            )
        decided = review_items_accept_recommendations(
            items=items, actor=request.user, reason=body.validated_data["reason"]
        )
        return Response({"decided": decided})
