"""Which language a person reads the portal in.

The languages are ``settings.LANGUAGES`` (English and Norsk bokmål); their texts are the
gettext catalogues under ``locale/`` (docs/languages.md says how to add one). A page's
language is, first to last:

1. the signed-in person's saved choice (``User.language``, set on the account page or by the
   chooser in the menu), so every device and every e-mail agree;
2. the chooser's cookie (``settings.LANGUAGE_COOKIE_NAME``), for the sign-in page and people
   who have not saved a choice;
3. the browser's ``Accept-Language`` header;
4. ``settings.LANGUAGE_CODE`` (British English).

Django's ``LocaleMiddleware`` does 2 to 4; ``PersonLanguageMiddleware`` adds 1. The JSON API
follows the same order (token clients send ``Accept-Language``); its field names and codes
stay English, only its messages are translated. Notifications are rendered in each
recipient's ``language_for`` (``portal.notifications.notify``), never the sender's.
"""

import functools
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models import Choices
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation

T = TypeVar("T")
P = ParamSpec("P")


def language_codes() -> tuple[str, ...]:
    """The codes of ``settings.LANGUAGES`` (``("en-gb", "nb")``), in their order."""
    return tuple(code for code, _name in settings.LANGUAGES)


def language_for(user: object) -> str:
    """The language ``user`` reads texts in when no request says otherwise (e-mails,
    notifications): their saved ``language`` when it is one of ``settings.LANGUAGES``, else
    ``settings.LANGUAGE_CODE``. ``user`` is any object (an anonymous user, ``None``)."""
    chosen = getattr(user, "language", "") or ""
    return chosen if chosen in language_codes() else settings.LANGUAGE_CODE


class PersonLanguageMiddleware:
    """Every page in the signed-in person's saved language, over the cookie and the browser.

    Placed after the authentication middleware (it reads ``request.user``) and inside
    ``LocaleMiddleware``, whose response step then names this language in
    ``Content-Language``. Without a saved choice it leaves ``LocaleMiddleware``'s choice.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        chosen = getattr(user, "language", "") if getattr(user, "is_authenticated", False) else ""
        if chosen and chosen in language_codes():
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen  # type: ignore[attr-defined]
        return self.get_response(request)


def flatten_translations() -> None:
    """Build each of ``settings.LANGUAGES``' translations now and make their look-ups cheap,
    without changing any text they give.

    Django merges every installed app's catalogue into one ``TranslationCatalog`` but keeps
    a separate dictionary for each catalogue whose plural rule is a different function
    object (every app's, although they read the same), and ``gettext`` chains an empty
    catalogue for each app's plain ``en`` files behind its ``en_GB`` ones. A text with no
    translation (every English page's texts) then missed 7 dictionaries and walked 6 empty
    fallbacks: about 4 µs a look-up, and a page of 25 approval cards looks up about 700.

    Here neighbouring dictionaries whose plural rules give the same form for 0 to 1,000 are
    merged (the first keeps its entries, as a look-up finds them first) and fallbacks that
    hold no translation are unlinked. Called once from ``PortalConfig.ready``; a
    translation Django builds again later (after ``LOCALE_PATHS`` changes in a test) is
    merely slower. Reads Django's ``trans_real`` internals: ``TranslationCatalog``'s
    ``_catalogs`` and ``_plurals`` and gettext's ``_fallback`` (Django 5.2, Python 3.11).
    """
    from django.utils.translation import trans_real

    for code in language_codes():
        translation_object = trans_real.translation(code)
        _merge_alike_catalogs(translation_object._catalog)
        _unlink_empty_fallbacks(translation_object)


def _merge_alike_catalogs(catalog: object) -> None:
    dictionaries = getattr(catalog, "_catalogs", None)
    plurals = getattr(catalog, "_plurals", None)
    if not dictionaries or not plurals:
        return
    merged, rules = [dict(dictionaries[0])], [plurals[0]]
    for dictionary, rule in zip(dictionaries[1:], plurals[1:], strict=True):
        if all(rule(n) == rules[-1](n) for n in range(1001)):
            # The earlier dictionary wins a key both hold, as it did in the look-up.
            merged[-1] = {**dictionary, **merged[-1]}
        else:
            merged.append(dict(dictionary))
            rules.append(rule)
    catalog._catalogs, catalog._plurals = merged, rules  # type: ignore[attr-defined]


def _unlink_empty_fallbacks(translation_object: object) -> None:
    link = translation_object
    while link is not None:
        following = getattr(link, "_fallback", None)
        while following is not None and _holds_nothing(following):
            following = getattr(following, "_fallback", None)
        link._fallback = following  # type: ignore[attr-defined]
        link = following


def _holds_nothing(translation_object: object) -> bool:
    # gettext's own catalogues (not Django's merged ones) keep their metadata under "".
    catalog = getattr(translation_object, "_catalog", None)
    return isinstance(catalog, dict) and set(catalog) <= {""}


# Every cache made by ``per_language``, emptied when the catalogues may change (a test that
# changes ``LOCALE_PATHS``, ``LANGUAGES``, ``LANGUAGE_CODE`` or ``INSTALLED_APPS``).
_PER_LANGUAGE_CACHES: list[Any] = []


def per_language(build: Callable[..., T]) -> Callable[..., T]:
    """``build`` remembered per active language and arguments, for the life of the process.

    For the texts a list writes on every row (a message, a choice's label, a purpose's name,
    all in the active language): ``build`` calls ``gettext`` and its kin as usual (so
    ``makemessages`` finds the messages), and is called once per language and argument
    values instead of once per row. ``build``'s arguments must be hashable and its result
    must depend on nothing else than them and the active language (``get_language()``;
    ``None`` when translation is deactivated): never on the time zone, a setting or the
    database (nor on a format setting: a number or a date is never remembered this way).
    At most 4,096 results are kept, the least recently used dropped first.

    A translated text is the same for the life of a process: Django reads the catalogues
    once (``trans_real.translation``) and never again, except when a test changes the
    settings they come from, which empties these caches too (``setting_changed``)."""

    # ``typed``: a ``SafeString`` and a ``str`` of the same text are different arguments
    # (one is escaped on the way to HTML, the other not).
    @functools.lru_cache(maxsize=4096, typed=True)
    def remembered(language: str | None, *args: Hashable) -> T:
        # Built in ``language`` itself, not in whatever is active when the text is first
        # asked for: a row that switched languages after ``reads_language_once`` read one
        # would otherwise remember a text of the other language under this one's key, for
        # every later page of the process. A miss only: the switch costs nothing after.
        with translation.override(language):
            return build(*args)

    _PER_LANGUAGE_CACHES.append(remembered)

    @functools.wraps(build)
    def in_active_language(*args: Hashable) -> T:
        return remembered(active_language(), *args)

    return in_active_language


def active_language() -> str | None:
    """The active language's code (``translation.get_language()``; ``None`` when translation
    is deactivated), as ``reads_language_once`` read it when called from a row it writes."""
    read = _LANGUAGE_READ.get()
    return translation.get_language() if read is None else read[0]


# The active language as ``reads_language_once`` read it at the start of a row's writing
# (a 1-tuple: the language may be ``None``), or ``None`` outside one.
_LANGUAGE_READ: ContextVar[tuple[str | None] | None] = ContextVar("language_read", default=None)


def reads_language_once(write: Callable[P, T]) -> Callable[P, T]:
    """``write`` (a function that writes one row or card of a list) with the active language
    read once, at its start, by every ``per_language`` text it looks up, instead of once per
    text: Django keeps the active language in a context-local, about 1 µs a read, and a card
    of the approvals page looked up some thirty texts. Nested calls keep the outermost
    reading.

    ``write`` must not change the active language (``translation.override``): its
    ``per_language`` texts would stay in the language it started in (and are remembered in
    that language, never mixed up with the other's). Nothing else changes: the texts are
    those of the active language, remembered as ``per_language`` says."""

    @functools.wraps(write)
    def written(*args: P.args, **kwargs: P.kwargs) -> T:
        if _LANGUAGE_READ.get() is not None:
            return write(*args, **kwargs)
        token = _LANGUAGE_READ.set((translation.get_language(),))
        try:
            return write(*args, **kwargs)
        finally:
            _LANGUAGE_READ.reset(token)

    return written


@receiver(setting_changed)
def _forget_translated(*, setting: str, **kwargs: Any) -> None:
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "INSTALLED_APPS"}:
        for cache in _PER_LANGUAGE_CACHES:
            cache.cache_clear()


@per_language
def choice_label(choices: type[Choices], value: str) -> str:
    """The label of ``value`` (a stored choice, never ``None``) among ``choices`` (a
    ``TextChoices`` class) in the active language, as a model's ``get_<field>_display()``
    gives it: ``value`` itself when it is not one of them. For the plain rows of the lists
    (``portal.approval_rows``, ``customers.selectors``), which print a step's role or a
    request's status on every row."""
    return str(dict(choices.choices).get(value, value))
