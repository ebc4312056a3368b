"""Filters for incident notification texts: times as each recipient reads them."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django import template

from incidents import clocks

register = template.Library()


@register.filter
def in_zone(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` as ``1 Apr 2025 13:00 CEST`` in ``zone`` (``clocks.format_in_zone``)."""
    return clocks.format_in_zone(moment, zone)
