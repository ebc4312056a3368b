"""Per-object loaders: an incident the user may not see is a 404, never a 403."""

from django.shortcuts import get_object_or_404

from incidents.models import Alert, Incident, IncidentDuty
from incidents.selectors import alert_list_for, incident_detail_queryset, incident_list_for


def get_incident_for_user(user, pk) -> Incident:
    return get_object_or_404(incident_detail_queryset(user), pk=pk)


def get_duty_for_user(user, incident_pk, pk) -> IncidentDuty:
    return get_object_or_404(
        IncidentDuty.objects.select_related("duty", "incident"),
        pk=pk,
        incident__in=incident_list_for(user).filter(pk=incident_pk),
    )


def get_alert_for_user(user, pk) -> Alert:
    """A misuse alert ``user`` may see (``alert_list_for``), else 404: to the person it
    concerns and to everyone outside Compliance it does not exist."""
    return get_object_or_404(alert_list_for(user), pk=pk)
