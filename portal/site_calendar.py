"""Calendar arithmetic in the site's zone; elapsed time in UTC.

Two kinds of time offset, and they are not interchangeable:

- Hours ("72 hours", "24 hours after awareness") are elapsed time: ``timedelta`` on aware
  datetimes, whatever the zone. 72 hours across a daylight-saving change are 72 hours.
- Calendar offsets ("one month after", "30 days", "by the end of the day") are counted on
  the calendar of the site (``settings.TIME_ZONE``, Europe/Oslo): the local date and
  wall-clock time move, then the result goes back to UTC. 31 January 00:30 in Oslo is
  30 January in UTC; one month after it is 28 February 00:30 in Oslo, not 1 March.

Months follow Regulation (EEC, Euratom) No 1182/71 Art. 3(2)(c): the same day of the later
month, or its last day when that month is shorter (``dateutil.relativedelta`` clamps the
same way). A wall-clock time that does not exist on the target day (the hour skipped when
summer time starts) is read with the offset before the change, so it lands one hour later
on the clock; an ambiguous one (the hour repeated in autumn) keeps the start's reading.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.conf import settings


def site_zone() -> ZoneInfo:
    """The site's zone (``settings.TIME_ZONE``): the calendar deadlines are counted on."""
    return ZoneInfo(settings.TIME_ZONE)


def _shift(moment: datetime, offset: relativedelta) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("Calendar arithmetic needs an aware datetime.")
    return (moment.astimezone(site_zone()) + offset).astimezone(UTC)


def add_calendar_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus ``months`` calendar months in the site's zone, as an aware UTC
    datetime: the same local wall-clock time on the same local day of the later month
    (its last day when shorter). ``moment`` must be aware (``ValueError`` otherwise).
    Source: Regulation 1182/71 Art. 3(2)(c); NIS2 Art. 23(4)(d), GDPR Art. 12(3)."""
    return _shift(moment, relativedelta(months=months))


def add_calendar_days(moment: datetime, days: int) -> datetime:
    """``moment`` plus ``days`` calendar days in the site's zone, as an aware UTC datetime:
    the same local wall-clock time ``days`` local dates later (23 or 25 elapsed hours on
    the day the clocks change). ``moment`` must be aware (``ValueError`` otherwise)."""
    return _shift(moment, relativedelta(days=days))


def add_months(day: date, months: int) -> date:
    """The local date ``months`` calendar months after ``day`` (before it when negative):
    the same day of the month, or the month's last day when it is shorter (received 31
    January, one month later is 28 February, or 29 in a leap year). A date has no zone: pass
    the site's local date (``timezone.localdate()``). Source: Regulation 1182/71 Art.
    3(2)(c); GDPR Art. 12(3) (a subject request's month)."""
    return day + relativedelta(months=months)


def start_of_day(day: date) -> datetime:
    """The first moment of the local date ``day``: an aware datetime in the site's zone."""
    return datetime.combine(day, time.min, tzinfo=site_zone())


def end_of_day(day: date) -> datetime:
    """The last moment (to the microsecond) of the local date ``day``, an aware datetime in
    the site's zone: what "by the end of ``day``" and an inclusive "until ``day``" mean."""
    return datetime.combine(day, time.max, tzinfo=site_zone())
