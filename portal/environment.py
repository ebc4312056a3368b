"""Reading settings from the environment: one reader per type, each failing closed.

Imported by ``portal/settings.py`` before Django is set up, so it imports nothing of
Django's but the exception a misconfiguration raises. A value that is set but cannot be read
(``DEBUG=maybe``, ``AXES_FAILURE_LIMIT=five``) stops the process with the variable's name,
rather than falling back to a default nobody chose.
"""

import os

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    """The variable ``name`` as text, or ``default`` when it is not set."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    """``1/true/yes/on`` or ``0/false/no/off`` (any case); ``default`` when unset or blank.
    Raises ``ImproperlyConfigured`` naming the variable for anything else."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}.")


def env_int(name: str, default: int) -> int:
    """A whole number (the unit is the setting's: seconds, minutes, rows); ``default`` when
    unset or blank. Raises ``ImproperlyConfigured`` naming the variable otherwise."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from exc


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated list, items stripped, empty items dropped."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]
