"""Compliance's card of the record of processing activities (GDPR Art. 30): the gaps to close
before the record is complete, from the same computation as the record's page."""

from django.urls import reverse
from django.utils.translation import gettext as _

from consent.processing_record import processing_record
from portal.dashboard.layout import Section, Viewer


def record_gaps_section(viewer: Viewer) -> Section | None:
    """Purposes in use without an activity, activities without a purpose, recipients outside
    the EU/EEA without a safeguard and assets past retention: compliance only. A fixed
    number of queries (the record's own)."""
    if not viewer.is_compliance:
        return None
    gaps = processing_record().gaps
    return Section(
        key="record-gaps",
        title=_("Record of processing: gaps to close"),
        template="portal/dashboard/record_gaps.html",
        context={"gaps": gaps},
        count=gaps.count,
        link=reverse("consent:record"),
        link_text=_("Record of processing"),
        attention=bool(gaps.count),
    )
