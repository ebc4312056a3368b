from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from consent import services
from consent.selectors import consent_history, current_consents
from consent.serializers import (
    ConsentCreateSerializer,
    ConsentRecordSerializer,
    CustomerConsentsSerializer,
)
from customers.models import Customer
from customers.permissions import get_customer_for_user
from portal import roles


class CustomerConsentViewSet(viewsets.GenericViewSet):
    """A customer's consents (compliance and legal; 404 for everyone else)."""

    lookup_value_regex = r"\d+"
    queryset = Customer.objects.none()

    @extend_schema(responses=CustomerConsentsSerializer)
    @action(detail=True, methods=["get"])
    def consents(self, request, pk=None):
        customer = get_customer_for_user(request.user, pk)
        body = {
            "customer": customer.pk,
            "current": current_consents(customer),
            "history": consent_history(customer),
        }
        return Response(CustomerConsentsSerializer(body).data)


class ConsentViewSet(viewsets.GenericViewSet):
    """Record a consent or a withdrawal (compliance only)."""

    serializer_class = ConsentCreateSerializer

    @extend_schema(request=ConsentCreateSerializer, responses={201: ConsentRecordSerializer})
    def create(self, request):
        if not roles.is_compliance(request.user):
            raise exceptions.PermissionDenied("Only a compliance officer can record consent.")
        body = ConsentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        try:
            customer = get_customer_for_user(request.user, data.pop("customer"))
        except Http404 as error:
            raise exceptions.ValidationError({"customer": ["Unknown customer."]}) from error
        record = services.consent_record(actor=request.user, customer=customer, **data)
        return Response(ConsentRecordSerializer(record).data, status=status.HTTP_201_CREATED)
