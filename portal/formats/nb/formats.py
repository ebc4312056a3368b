"""The portal's formats in Norwegian Bokmål (``FORMAT_MODULE_PATH``; ``portal.display``
explains them; the English module says why each is what it is).

Norwegian writes dates with dots, day first (30.11.2026, Språkrådet's numeric form), times on
the 24-hour clock, a decimal comma and a space between thousands (1 200): a no-break space,
so a number never breaks across lines. What is left out comes from Django's own ``nb`` module.
"""

# 30.11.2026 14:05 CET
DATETIME_FORMAT = "d.m.Y H:i T"
# 30.11.2026
DATE_FORMAT = "d.m.Y"
TIME_FORMAT = "H:i"
# 1 200 kunder; 2,5 (USE_THOUSAND_SEPARATOR is on).
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\xa0"
NUMBER_GROUPING = 3
