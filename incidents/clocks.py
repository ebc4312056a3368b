"""Clock arithmetic for notification duties.

Hours are real elapsed hours (``timedelta`` on aware datetimes): 72 hours across a
daylight-saving change are still 72 hours. Months are calendar months in the site's zone
(``portal.site_calendar.add_calendar_months``): a notification made 31 January 00:30 in
Oslo (30 January in UTC) has its one-month report due 28 February 00:30 in Oslo. All
results are aware UTC datetimes.
"""

from datetime import UTC, datetime, timedelta

from portal.site_calendar import add_calendar_months


def due_after(
    start: datetime,
    *,
    hours: int = 0,
    months: int = 0,
    aware_at: datetime | None = None,
    latest_hours_after_awareness: int | None = None,
) -> datetime:
    """``start`` (aware) plus ``months`` calendar months in the site's zone, then ``hours``
    elapsed hours, capped at ``aware_at + latest_hours_after_awareness`` hours; an aware
    UTC datetime. Sources: GDPR Art. 33(1) (72 hours), NIS2 Art. 23(4) (24 h, 72 h, one
    month), DORA Art. 19 with its RTS (4 h / 24 h, 72 h, one month)."""
    due = add_calendar_months(start, months) + timedelta(hours=hours)
    if latest_hours_after_awareness is not None and aware_at is not None:
        due = min(due, aware_at.astimezone(UTC) + timedelta(hours=latest_hours_after_awareness))
    return due


def hours_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() / 3600
