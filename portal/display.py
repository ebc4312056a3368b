"""How dates, times and numbers read to people: one format for each, in the reader's zone.

The formats are Django's named formats, defined once per language in a format module
(``portal/formats/<language>/formats.py``, found through ``FORMAT_MODULE_PATH``):
``DATETIME_FORMAT`` ("30 Nov 2026 14:05 CET"), ``DATE_FORMAT`` ("30 Nov 2026") and the
number format (grouped thousands: "1,200"). A language added later brings its own module
(Norwegian Bokmål: "30.11.2026", "1 200") and every page, e-mail and message follows.

Templates use the named formats directly (``{{ moment|date:"DATETIME_FORMAT" }}``,
``{{ day|date:"DATE_FORMAT" }}``; a number prints grouped by itself, since
``USE_THOUSAND_SEPARATOR`` is on, and ids, years and page numbers in addresses, attributes
and form values are printed with ``|unlocalize``). Python code that writes text for people
(messages, refusals, timeline entries) uses the functions below. Machine formats (ISO 8601
in JSON, CSV and file names, ids in URLs) are not human text and do not use them.

Times are stored in UTC and shown in the reader's zone: ``User.time_zone`` (chosen on the
account page), else the site's ``TIME_ZONE`` (Europe/Oslo). ``TimeZoneMiddleware`` activates
it for every page; ``portal.notifications.notify`` renders each recipient's texts in it.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import formats, timezone, translation
from rest_framework.views import APIView

from portal.languages import active_language


def zone_for(user: object) -> ZoneInfo:
    """The zone times are shown in to ``user`` (any object; a ``portal.User`` has
    ``time_zone``): their chosen IANA zone, else the site's ``TIME_ZONE``. A stored name
    this machine's tz database does not know falls back to the site's zone."""
    name = getattr(user, "time_zone", "") or settings.TIME_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


@cache
def time_zone_names() -> tuple[str, ...]:
    """The IANA zones a person may choose, sorted: every ``Area/City`` zone of the tz
    database (``zoneinfo.available_timezones``) and ``UTC``; aliases such as ``Factory``,
    ``localtime`` or ``posixrules`` are left out."""
    names = {name for name in available_timezones() if "/" in name and not name.startswith("Etc/")}
    return tuple(sorted(names | {"UTC"}))


def datetime_text(moment: datetime, zone: tzinfo | None = None) -> str:
    """``moment`` (an aware datetime, any zone) in ``DATETIME_FORMAT`` of the active
    language, converted to ``zone`` (default: the active zone: the reader's on a page, the
    recipient's while a notification is rendered): ``30 Nov 2026 14:05 CET``. Raises
    ``ValueError`` for a naive ``moment``.

    Remembered per instant, zone and language (the last 4,096): the lists print the same
    moments on every visit (the steps decided on the requests waiting longest, the grants'
    expiries), and formatting one costs about 20 µs."""
    if timezone.is_naive(moment):  # astimezone would take it as the machine's local time
        raise ValueError("datetime_text() cannot be applied to a naive datetime")
    zone = zone or timezone.get_current_timezone()
    # Keyed by the instant in UTC: two aware datetimes of one zone compare by their wall
    # clock, so the two 02:30 of the night summer time ends (``fold``) would share a key.
    return _datetime_text(moment.astimezone(UTC), zone, active_language())


@lru_cache(maxsize=4096)
def _datetime_text(instant: datetime, zone: tzinfo, language: str | None) -> str:
    # Formatted in ``language`` itself (the key's), as ``per_language`` builds its texts.
    with translation.override(language):
        return formats.date_format(timezone.localtime(instant, zone), "DATETIME_FORMAT")


def date_text(day: date) -> str:
    """A calendar date (no zone) in ``DATE_FORMAT`` of the active language:
    ``30 Nov 2026``. For the date of a moment, convert it first (``timezone.localdate``).

    Remembered per day and language (the format is fixed per language): a list of grants
    names the same few expiry days again and again, and formatting one costs about 10 µs.
    """
    if type(day) is not date:  # a datetime: equal instants in two zones would share a key
        return formats.date_format(day, "DATE_FORMAT")
    return _date_text(day, active_language())


@lru_cache(maxsize=4096)
def _date_text(day: date, language: str | None) -> str:
    # Formatted in ``language`` itself (the key's), as ``per_language`` builds its texts.
    with translation.override(language):
        return formats.date_format(day, "DATE_FORMAT")


# What ``_date_text``'s and ``_datetime_text``'s texts also depend on: the format settings
# and the languages' format modules, which only a test changes. Django empties its own
# format cache for the format settings but not for ``FORMAT_MODULE_PATH``: emptied here
# too, so a date follows it.
_DATE_TEXT_SETTINGS = {
    *formats.FORMAT_SETTINGS,
    "FORMAT_MODULE_PATH",
    "LANGUAGES",
    "LANGUAGE_CODE",
    "INSTALLED_APPS",
}


@receiver(setting_changed)
def _forget_date_texts(*, setting: str, **kwargs: Any) -> None:
    if setting in _DATE_TEXT_SETTINGS:
        _date_text.cache_clear()
        _datetime_text.cache_clear()
    if setting == "FORMAT_MODULE_PATH":
        formats.reset_format_cache()


def number_text(value: int | float) -> str:
    """A count or amount grouped as the active language groups thousands: ``1,200`` (the
    same as a template prints it)."""
    return formats.number_format(value, force_grouping=True)


class TimeZoneMiddleware:
    """Every page in the signed-in person's zone (``zone_for``); the site's zone for
    everyone else. Placed after the authentication middleware, which sets ``request.user``.
    Forms read typed times in the same zone (Django interprets naive input in the current
    zone), so what a person types and reads agree."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            timezone.activate(zone_for(user))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> None:
        """The JSON API answers in the site's zone whoever asks: its times are ISO 8601 with
        their offset (a machine format, the contract's), the same for every client."""
        view_class = getattr(view, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            timezone.deactivate()
