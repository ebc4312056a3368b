"""Clock arithmetic for notification duties, in UTC.

Hours are real elapsed hours (``timedelta`` on aware UTC datetimes): 72 hours across a
daylight-saving change are still 72 hours. Months are calendar months on the UTC date, the
day clamped to the month's last day (31 January + 1 month = 28 or 29 February).
"""

import calendar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings


def add_months(moment: datetime, months: int) -> datetime:
    moment = moment.astimezone(UTC)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def due_after(
    start: datetime,
    *,
    hours: int = 0,
    months: int = 0,
    aware_at: datetime | None = None,
    latest_hours_after_awareness: int | None = None,
) -> datetime:
    """``start`` plus the offset, capped at ``aware_at + latest_hours_after_awareness``."""
    due = add_months(start, months) + timedelta(hours=hours)
    if latest_hours_after_awareness is not None and aware_at is not None:
        due = min(due, aware_at.astimezone(UTC) + timedelta(hours=latest_hours_after_awareness))
    return due


def zone_for(user) -> ZoneInfo:
    """The zone times are shown in to ``user``: theirs, else the site's."""
    name = getattr(user, "time_zone", "") or settings.TIME_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def format_in_zone(moment: datetime, zone: ZoneInfo) -> str:
    """``1 Apr 2025 13:00 CEST``: how a time reads in a notification."""
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %Y %H:%M} {local.tzname()}"


def hours_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() / 3600
