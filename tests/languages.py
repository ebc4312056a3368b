"""What a page in another language must not show: the catalogue's English sentences
(tests/portal/test_translations.py, tests/e2e/test_norwegian.py; docs/languages.md)."""

import re
from html.parser import HTMLParser
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[1]
# Each translated language's catalogue; a new language adds its line here.
CATALOGUES = {"nb": ROOT / "locale" / "nb" / "LC_MESSAGES" / "django.po"}

_PLACEHOLDER = re.compile(r"%\(\w+\)[sdi]|%[sdi]|\{\w*\}")


def demo_data_texts() -> set[str]:
    """What the demo's people typed (portal/management/demo_texts.py), in English: data a
    page shows as it was stored, not the portal's words, so an English demo's report title
    on a Norwegian page is not a missed translation."""
    from django.utils import translation

    from portal.management import demo_texts

    with translation.override("en-gb"):
        values = [value for name, value in vars(demo_texts).items() if name.isupper()]
        flat = [
            text
            for value in values
            for text in (value.values() if isinstance(value, dict) else [value])
        ]
        return {str(text) for text in flat}


def english_sentences(language: str) -> set[str]:
    """Pieces of the catalogue's English a page in ``language`` must not show: the runs of
    three words or more between placeholders, unless the translation has the same run
    (a name such as ``Datatilsynet`` reads the same in both). The demo people's typed texts
    are data, not the portal's words, and are left out (``demo_data_texts``)."""
    sentences = set()
    typed = demo_data_texts()
    for entry in polib.pofile(str(CATALOGUES[language])).translated_entries():
        if entry.msgid in typed:
            continue
        translations = [entry.msgstr, *entry.msgstr_plural.values()]
        for text in [entry.msgid, entry.msgid_plural]:
            for piece in _PLACEHOLDER.split(text or ""):
                piece = " ".join(piece.split()).strip(" .,:;·—-()")
                if len(piece.split()) >= 3 and not any(piece in t for t in translations):
                    sentences.add(piece)
    return sentences


class _VisibleText(HTMLParser):
    """The text a person sees or hears on a page: text outside scripts and styles, and
    the attributes read aloud or shown (title, alt, aria-label, placeholder)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style", "template"}:
            self._hidden += 1
        for name, value in attrs:
            if value and name in {"title", "alt", "aria-label", "placeholder"}:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in {"script", "style", "template"} and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """``html``'s visible text, whitespace collapsed to single spaces."""
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_on(html: str, sentences: set[str], *, text: str | None = None) -> list[str]:
    """The catalogue's English sentences that ``html`` (or the already visible ``text``,
    as a browser reads it) shows."""
    text = " ".join(text.split()) if text is not None else visible_text(html)
    return sorted(sentence for sentence in sentences if sentence in text)
