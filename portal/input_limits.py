"""What a person may give the portal: dates in a plausible window, whole numbers that fit
their column, text without NUL characters, JSON no deeper than ``MAX_JSON_DEPTH`` levels.

Values beyond these are not just implausible, storage and arithmetic fail on them:
PostgreSQL stores no NUL character and no integer above 2**31 - 1 in an integer column;
Python's dates run from 0001-01-01 to 9999-12-31, so a time-zone conversion or "the day
after" at either end overflows; the JSON decoder recurses once per level of nesting. Every
door refuses them with a message naming the field: forms and serializers through the
validators and limits here, services through ``require_*``, every query string and form body
through ``InputLimitsMiddleware``, every JSON body through ``JSONParser``.

The windows (docs/security.md, "Input limits"):

- an event the portal records (an incident and the times of its handling, a subject request's
  receipt) happened on or after ``EARLIEST_EVENT`` and not in the future;
- a date that looks ahead (a retention date, an agreement's end) lies at most
  ``FUTURE_YEARS`` years ahead;
- a date filter (the audit log, a customer's footprint) lies between ``EARLIEST_RECORD``, the
  oldest evidence the portal holds (consent records), and ``FUTURE_YEARS`` years ahead.

And a single-line name or title (an incident's title, a recipient, an agreement or report
reference, an asset's or customer's name) holds no invisible or text-direction character.
"""

import unicodedata
from collections.abc import Iterator
from datetime import date, datetime

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Model
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers

from portal.errors import ApplicationError
from portal.site_calendar import add_months, start_of_day

EARLIEST_EVENT = date(2000, 1, 1)
EARLIEST_RECORD = date(1990, 1, 1)
FUTURE_YEARS = 100
MAX_JSON_DEPTH = 32


# --- Dates ------------------------------------------------------------------------------------


def latest_future_date(today: date | None = None) -> date:
    """``FUTURE_YEARS`` years after ``today`` (the site's date by default); 29 February
    becomes 28 February in a year without it (``site_calendar.add_months``)."""
    return add_months(today or timezone.localdate(), 12 * FUTURE_YEARS)


def date_text(day: date) -> str:
    """``day`` as every message writes a date: ``portal.display.date_text``, imported here
    when called (portal.display imports DRF, whose settings import this module's parser)."""
    from portal.display import date_text as shown

    return shown(day)


def date_window_error(day: date, *, earliest: date, latest: date, what: str) -> str:
    """The message for a ``day`` outside ``earliest``..``latest`` (both included), or ""."""
    if earliest <= day <= latest:
        return ""
    return _("%(what)s must be between %(earliest)s and %(latest)s.") % {
        "what": what,
        "earliest": date_text(earliest),
        "latest": date_text(latest),
    }


def require_date_between(
    day: date, *, field: str, earliest: date, latest: date, what: str = ""
) -> None:
    """Services: raise ``ApplicationError`` naming ``field`` unless ``earliest`` <= ``day`` <=
    ``latest``; ``what`` names the date in the message (translated; "The date" by default)."""
    message = date_window_error(day, earliest=earliest, latest=latest, what=what or _("The date"))
    if message:
        raise ApplicationError(message, field=field)


def require_ahead(day: date, *, field: str, what: str) -> None:
    """Services: a date that looks ahead (a retention date, an agreement's end) lies between
    today and ``FUTURE_YEARS`` years from now; ``ApplicationError`` naming ``field``
    otherwise."""
    today = timezone.localdate()
    require_date_between(
        day, field=field, earliest=today, latest=latest_future_date(today), what=what
    )


def require_plausible_moment(
    moment: datetime,
    *,
    field: str,
    what: str,
    earliest: date = EARLIEST_EVENT,
    latest: datetime | None = None,
) -> None:
    """Services: an aware ``moment`` (any zone) of something that has happened lies on or
    after the start of ``earliest`` (site zone) and not after ``latest`` (default: now).
    Raises ``ApplicationError`` naming ``field``. (Comparing aware times subtracts their
    offsets without converting either, so year 1 at +14:00 compares without overflowing.)"""
    if moment < start_of_day(earliest):
        raise ApplicationError(
            _("%(what)s cannot be before %(earliest)s.")
            % {"what": what, "earliest": date_text(earliest)},
            field=field,
        )
    if moment > (latest or timezone.now()):
        raise ApplicationError(_("%(what)s cannot be in the future.") % {"what": what}, field=field)


class DateWindow:
    """A validator for form and serializer date fields (DRF runs Django validators too):
    the date lies between ``earliest`` and ``FUTURE_YEARS`` years from today (site zone)."""

    def __init__(self, earliest: date = EARLIEST_RECORD, *, what: str = ""):
        self.earliest = earliest
        self.what = what  # a lazy translation when set at import; "The date" when empty

    def __call__(self, value: date) -> None:
        day = value.date() if isinstance(value, datetime) else value
        message = date_window_error(
            day,
            earliest=self.earliest,
            latest=latest_future_date(),
            what=self.what or _("The date"),
        )
        if message:
            raise ValidationError(message, code="date_window")


# The audit log's and the footprint's period: nothing the portal holds is older or newer.
FILTER_DATE = DateWindow(EARLIEST_RECORD)


# --- Whole numbers ------------------------------------------------------------------------------


def column_range(model, field_name: str) -> tuple[int, int]:
    """(lowest, highest) whole number the column of ``model.field_name`` stores.

    PostgreSQL's ranges (Django's standard ones) whatever the database in use: production
    runs on PostgreSQL, and the SQLite demo must not take what production would refuse
    (SQLite itself stores any 64-bit integer in any integer column)."""
    field = model._meta.get_field(field_name)
    target = getattr(field, "target_field", None) or field
    return BaseDatabaseOperations.integer_field_ranges[target.get_internal_type()]


def column_max(model, field_name: str) -> int:
    """The highest whole number ``model.field_name`` stores: a form or serializer field's
    ``max_value``."""
    return column_range(model, field_name)[1]


# The largest id a PostgreSQL bigint holds: 19 digits at most.
ID_MAX = 2**63 - 1


def as_id(text) -> int | None:
    """``text`` (a query parameter, a form value, a CSV cell) as a row id, or ``None``.

    Only ASCII digits count: ``str.isdigit`` also accepts "²" or Arabic-Indic digits,
    which ``int()`` and the database then refuse with a server error; and a number beyond a
    bigint is no row. Callers treat ``None`` as "no such id".
    """
    text = str(text or "")
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= ID_MAX else None


def require_in_column(value: int, *, model, field: str, what: str) -> None:
    """Services: raise ``ApplicationError`` naming ``field`` when ``value`` does not fit the
    column."""
    lowest, highest = column_range(model, field)
    if not lowest <= value <= highest:
        raise ApplicationError(
            _("%(what)s must be between %(earliest)s and %(latest)s.")
            % {"what": what, "earliest": lowest, "latest": highest},
            field=field,
        )


# --- Text: one line, no NUL characters ----------------------------------------------------------


def one_line(text: str | None) -> str:
    """``text`` as one line: every run of white space (line breaks, tabs, the no-break
    spaces spreadsheets and word processors write) becomes one space, none at either end;
    ``None`` counts as "". The one cleaning of a short statement or name that is shown on a
    single line (a justification, a recipient, a note, a history row's reason)."""
    return " ".join((text or "").split())


def nul_message(what: str = "") -> str:
    """The one message refusing a NUL character, e.g. ``The evidence holds a NUL character
    (\\x00): remove it.``; ``what`` names the value ("The text" when only the field's
    name is known, which the answer then carries)."""
    return _("%(what)s holds a NUL character (\\x00): remove it.") % {"what": what or _("The text")}


def require_no_nul(value: str, *, field: str, what: str) -> None:
    """Services: raise ``ApplicationError`` naming ``field`` when the text ``value`` holds a
    NUL character. PostgreSQL can store none in text and compare none in a query, and no
    person types one; the request doors (``InputLimitsMiddleware``, ``JSONParser``) refuse
    it already, this covers what arrives otherwise (an uploaded file, a command)."""
    if "\x00" in value:
        raise ApplicationError(nul_message(what), field=field)


def _nul_fields(data) -> Iterator[str]:
    for name in data:
        if "\x00" in name or any("\x00" in value for value in data.getlist(name)):
            yield name.replace("\x00", "\\x00")


FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class InputLimitsMiddleware:
    """Answers 400 to any request whose path, query string or form fields hold a NUL
    character, naming the parameter: JSON ``{name: [message]}`` on the API, the error page
    elsewhere.

    One place for every view, including those that read ``request.GET`` directly: no person
    types a NUL, and PostgreSQL can neither store one in text nor compare with it, so it
    would otherwise fail as a server error deep inside a query. Uploaded files are not read
    here (their content is the importer's to judge); JSON bodies are checked by
    ``JSONParser``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        bad = []
        if "\x00" in request.path:
            bad.append("path")
        bad += _nul_fields(request.GET)
        if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
            bad += _nul_fields(request.POST)
        if not bad:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({name: [nul_message()] for name in bad}, status=400)
        message = f"{', '.join(bad)}: {nul_message()}"
        return render(request, "400.html", {"message": message}, status=400)


# --- Names and titles: nothing invisible --------------------------------------------------------

# Format (Cf: zero-width space, BOM, word joiner, soft hyphen, every bidi embedding, override
# and isolate, U+200E/F marks), line and paragraph separators, private-use and surrogate
# code points, control characters other than tabs and line breaks (those are the e-mail
# headers' concern, kept out where text goes into one), and the Hangul fillers that render
# as blanks.
_INVISIBLE_CATEGORIES = {"Cf", "Zl", "Zp", "Co", "Cs"}
_HANGUL_FILLERS = {"\u115f", "\u1160", "\u3164", "\uffa0"}
# Zero-width non-joiner and joiner: Persian, the Indic scripts and emoji sequences need them
# inside a word, between two visible characters; anywhere else they are invisible padding.
_JOINERS = {"\u200c", "\u200d"}


def invisible_character(text: str) -> str:
    """The first invisible or text-direction character of ``text`` as ``U+202E
    RIGHT-TO-LEFT OVERRIDE``, or "" when there is none. Source: Unicode TR #36 (security
    considerations) and #9 (bidi controls); CVE-2021-42574 ("Trojan Source")."""
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if char in _JOINERS:
            before = text[index - 1] if index else " "
            after = text[index + 1] if index + 1 < len(text) else " "
            if not (before.isspace() or after.isspace() or {before, after} & _JOINERS):
                continue
        elif category == "Cc":
            if char in "\t\r\n":
                continue
        elif category not in _INVISIBLE_CATEGORIES and char not in _HANGUL_FILLERS:
            continue
        name = unicodedata.name(char, "")
        return f"U+{ord(char):04X} {name}".strip()
    return ""


def invisible_character_error(text: str, *, what: str) -> str:
    """The message for a name or title holding an invisible character, or ""."""
    found = invisible_character(text or "")
    if not found:
        return ""
    return _(
        "%(what)s holds an invisible or text-direction character (%(found)s): type it again "
        "without it."
    ) % {"what": what, "found": found}


def require_visible_text(text: str, *, field: str, what: str) -> None:
    """Services: a single-line name or title people read in lists and e-mails holds no
    invisible or text-direction character; ``ApplicationError`` naming ``field``."""
    message = invisible_character_error(text, what=what)
    if message:
        raise ApplicationError(message, field=field)


class VisibleText:
    """The same rule as a validator, for form and admin fields."""

    def __init__(self, what: str = ""):
        self.what = what  # a lazy translation when set at import; "The text" when empty

    def __call__(self, value: str) -> None:
        message = invisible_character_error(value, what=self.what or _("The text"))
        if message:
            raise ValidationError(message, code="invisible_character")


# --- JSON bodies ---------------------------------------------------------------------------------


def json_problem(data) -> tuple[str, str] | None:
    """("depth", "") when ``data`` nests deeper than ``MAX_JSON_DEPTH``; ("nul", field) for
    the top-level field holding a NUL anywhere inside; None when fine. Iterative: the check
    must not recurse on what it protects against. For every JSON door (DRF's parser here,
    the SCIM views)."""
    stack = [(data, 1, None)]
    while stack:
        value, depth, field = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return "depth", ""
        if isinstance(value, str):
            if "\x00" in value:
                return "nul", field or "detail"
        elif isinstance(value, dict):
            for key, item in value.items():
                top = field or key
                if "\x00" in key:
                    return "nul", top.replace("\x00", "\\x00")
                stack.append((item, depth + 1, top))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, field) for item in value)
    return None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing with a 400 what it would otherwise pass on or crash on:
    nesting deeper than ``MAX_JSON_DEPTH`` levels (``{"detail": ...}``; Python's decoder
    raises ``RecursionError`` near 1,000 levels, which DRF does not catch) and NUL characters
    in any string or key (``{field: [message]}``). Neither DRF nor the standard library
    offers a depth limit."""

    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = _("JSON parse error - nested more than %(levels)s levels deep.") % {
            "levels": MAX_JSON_DEPTH
        }
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(too_deep) from None
        problem = json_problem(data)
        if problem is None:
            return data
        kind, field = problem
        if kind == "depth":
            raise exceptions.ParseError(too_deep)
        raise exceptions.ValidationError({field: [nul_message()]})


# --- Field lengths -------------------------------------------------------------------------------


def max_length(model: type[Model], field_name: str) -> int:
    """The ``max_length`` of ``model``'s text field ``field_name``: the longest input the
    database stores, for a clear message before it refuses one.

    Raises ``ImproperlyConfigured`` for a field without a maximum (a programming error,
    found when the module using it is imported)."""
    length = getattr(model._meta.get_field(field_name), "max_length", None)
    if not isinstance(length, int):
        raise ImproperlyConfigured(f"{model.__name__}.{field_name} has no max_length.")
    return length
