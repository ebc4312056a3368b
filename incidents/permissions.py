"""Per-object loaders: an incident the user may not see is a 404, never a 403."""

from django.shortcuts import get_object_or_404

from incidents.models import Incident, IncidentDuty
from incidents.selectors import incident_detail_queryset, incident_list_for


def get_incident_for_user(user, pk) -> Incident:
    return get_object_or_404(incident_detail_queryset(user), pk=pk)


def get_duty_for_user(user, incident_pk, pk) -> IncidentDuty:
    return get_object_or_404(
        IncidentDuty.objects.select_related("duty", "incident"),
        pk=pk,
        incident__in=incident_list_for(user).filter(pk=incident_pk),
    )
