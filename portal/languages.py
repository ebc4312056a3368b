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

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


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
