"""The portal's formats in English (``FORMAT_MODULE_PATH``; ``portal.display`` explains them).

One date-and-time format, one date format and one number format for every page, e-mail and
message. Another language adds ``portal/formats/<language>/formats.py`` with the same names
(Norwegian Bokmål, ``nb``: ``DATE_FORMAT = "d.m.Y"`` for 30.11.2026 and a space between
thousands); what a module leaves out comes from Django's own format module for the language.
"""

# 30 Nov 2026 14:05 CET: the zone's abbreviation, since a reader's zone may not be the
# site's and an e-mail is read away from the page that says which zone it shows.
DATETIME_FORMAT = "j M Y H:i T"
# 30 Nov 2026: the month as a word, never 11/30 against 30/11.
DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
# 1,200 customers (USE_THOUSAND_SEPARATOR is on).
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
