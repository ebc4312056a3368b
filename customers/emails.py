"""The one normalisation of customer e-mail addresses, used to store, search and match them.

A customer's address is a key: an import row, a search and the stored customer must agree
however the address was typed (``Kari.Nordmann@Example.no`` is ``kari.nordmann@example.no``).
"""

import contextlib
import unicodedata

from django.utils.encoding import punycode


def normalise_email(address: str | None) -> str:
    """The comparison form of an e-mail address: ``str`` in, ``str`` out, never raises.

    - Surrounding whitespace goes; the text is Unicode NFC (one form for "ü").
    - The domain is case-insensitive (RFC 5321 section 2.4, DNS): lower case, a trailing
      root dot dropped, an internationalised domain in its ASCII (punycode, IDNA) form as
      mail systems use it on the wire: ``bücher.no`` is ``xn--bcher-kva.no``.
    - The local part is lower-cased too. RFC 5321 lets a mail server treat it as
      case-sensitive, but no major provider does, and people type it as they remember it;
      two customers who differ only in its case are treated as one address (a shared
      address already needs the customer id to tell customers apart).

    Text without an ``@`` (a search fragment) is only trimmed and lower-cased; a domain
    that is not a valid IDNA name keeps its lower-cased form (validating the address is
    the form's job, not this function's).
    """
    text = unicodedata.normalize("NFC", (address or "").strip())
    local, at, domain = text.rpartition("@")
    if not at:
        return text.lower()
    domain = domain.lower().rstrip(".")
    with contextlib.suppress(UnicodeError):  # not a valid IDNA name: keep it lower-cased
        domain = punycode(domain)
    return f"{local.lower()}@{domain}"
