"""Django's makemessages without gettext's fuzzy matching (docs/languages.md).

By default ``msgmerge`` fills a new text with the translation of the most similar old one
and marks it fuzzy ("Suggested for %(asset)s" got "Tilgangsforespørsel: %(asset)s"). A wrong
guess is worse than a gap: a new text arrives untranslated, and the test that every entry is
translated names it. Django documents overriding the options this way.
"""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]
