"""Filters for the plain-text notification templates (``templates/notifications/``)."""

from datetime import datetime

from django import template

from portal.site_calendar import utc_text as _utc_text

register = template.Library()


@register.filter(name="format")
def format_as(value, spec: str) -> str:
    """``value`` formatted by Python's format ``spec``: ``"%d %b %Y"`` for a date as
    ``05 Mar 2026`` (in the value's own zone, not converted), ``","`` for ``12,345``,
    ``".0f"`` for a whole number of hours."""
    return format(value, spec)


@register.filter
def utc_text(moment: datetime) -> str:
    """``moment`` as ``14 Apr 2025 08:00 UTC`` (``portal.site_calendar.utc_text``)."""
    return _utc_text(moment)


@register.filter
def kind_label(kind: str) -> str:
    """A notification kind as people read it: ``incident_reported`` as ``Incident reported``
    (the kinds are the template names of ``templates/notifications/``, snake case)."""
    return kind.replace("_", " ").capitalize()
