"""Reading settings from the environment: one reader per type, each failing closed.

Imported by ``portal/settings.py`` before Django is set up, so it imports nothing of
Django's but the exception a misconfiguration raises. A value that is set but cannot be read
(``DEBUG=maybe``, ``AXES_FAILURE_LIMIT=five``) stops the process with the variable's name,
rather than falling back to a default nobody chose.
"""

import hashlib
import math
import os
import tempfile
from pathlib import Path

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


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """One of ``choices`` (any case, stored lower-case); ``default`` when unset or blank.
    Raises ``ImproperlyConfigured`` naming the variable and the choices otherwise."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return value


def env_mapping(name: str, values: tuple[str, ...]) -> dict[str, str]:
    """``key=value`` pairs separated by commas (``portal-compliance=Compliance,...``), each
    value one of ``values``; keys keep their case and inner spaces. Raises
    ``ImproperlyConfigured`` naming the variable for a pair without ``=``, an empty key or
    a value outside ``values``."""
    mapping: dict[str, str] = {}
    for pair in env_list(name):
        key, sep, value = (part.strip() for part in pair.rpartition("="))
        if not sep or not key or value not in values:
            raise ImproperlyConfigured(
                f"{name}: {pair!r} is not <directory group>=<{'|'.join(values)}>."
            )
        mapping[key] = value
    return mapping


def local_database_dir(base: Path, database: dict) -> Path:
    """The directory under ``base`` that belongs to ``database`` (a ``DATABASES`` entry)
    alone: ``<database name>-<8 hex digits>``, the name so a person can tell which, the
    digits (SHA-256 of engine, host, port and the full name or file path) so that two
    databases of the same name never share one. An in-memory database gets a new
    temporary directory per process: it ends with the process, and so must its files."""
    name = str(database.get("NAME") or "")
    if not name or name == ":memory:" or "mode=memory" in name:
        return Path(tempfile.mkdtemp(prefix="portal-audit-anchors-"))
    identity = "|".join(str(database.get(key) or "") for key in ("ENGINE", "HOST", "PORT", "NAME"))
    return base / f"{Path(name).stem}-{hashlib.sha256(identity.encode()).hexdigest()[:8]}"


def with_planner_costs(database: dict, random_page_cost: str) -> dict:
    """``database`` (a ``DATABASES`` entry) with PostgreSQL's ``random_page_cost`` set on
    each of its connections (a libpq ``options`` startup parameter), from
    ``DATABASE_RANDOM_PAGE_COST``; unchanged for another engine or an empty value.

    PostgreSQL's default, 4.0, prices a random read as a spinning disk's. On SSD or a
    database that fits in memory, 1.1 is the usual setting (PostgreSQL's documentation,
    "Planner Cost Constants"): with 4.0 the planner hashed every consent state of a
    purpose (32,000 rows) to find the first 50 eligible customers of a 2,000-customer
    asset, 10.5 ms, where probing the covering index per customer takes 0.3 ms. Leave it
    empty where a connection pooler refuses startup options (PgBouncer's transaction mode)
    and set the same value on the server instead. Raises ``ImproperlyConfigured`` for a
    value that is not a positive number.
    """
    if not random_page_cost or "postgresql" not in str(database.get("ENGINE", "")):
        return database
    try:
        if not (math.isfinite(float(random_page_cost)) and float(random_page_cost) > 0):
            raise ValueError(random_page_cost)
    except ValueError as error:
        raise ImproperlyConfigured(
            f"DATABASE_RANDOM_PAGE_COST must be a positive number, not {random_page_cost!r}."
        ) from error
    options = dict(database.get("OPTIONS") or {})
    options["options"] = f"{options.get('options', '')} -c random_page_cost={random_page_cost}"
    return {**database, "OPTIONS": {**options, "options": options["options"].strip()}}


def with_prepared_statements(database: dict, prepare_threshold: str) -> dict:
    """``database`` (a ``DATABASES`` entry) with psycopg's prepared statements on, from
    ``DATABASE_PREPARE_THRESHOLD``: a statement run more than that many times on one
    connection is prepared on the server, which then no longer parses and analyses it on
    each run. Unchanged for another engine or an empty value.

    Django's PostgreSQL backend writes the parameters into the text (client-side
    binding) and turns preparation off, so that a pooler in transaction mode keeps working
    (Django's documentation, "Server-side parameters binding"). Preparing needs the
    parameters sent apart (``server_side_binding``), so both are set. A page's statements
    have the same text on every view, and the connections live for
    ``DATABASE_CONN_MAX_AGE``.

    Each run is still planned for its own values (``plan_cache_mode=force_custom_plan``,
    a libpq startup option like ``with_planner_costs``'): PostgreSQL's default keeps a
    plan made for no value once it seems no dearer, and the portal's values are skewed. A
    customer search for "a" (nearly every name) then read the trigram index built for
    words of three letters and more, 263 ms against 188 planned for "a" itself, and an
    asset holds 10 or 50,000 customers. Parsing and analysing are what is saved: the
    owner's approvals page 45.7 to 43.3 ms, a search for "a" 188 to 171
    (docs/performance.md); a view whose statements all find rows by id or by the reader
    may let PostgreSQL keep their plans (``portal.query_plans.keeps_plans``). Leave it
    empty behind PgBouncer in transaction mode: it
    refuses the startup option, and before 1.22 it cannot keep a statement a connection
    prepared (psycopg's documentation, "Using prepared statements with PgBouncer").
    Raises ``ImproperlyConfigured`` for a value that is not a whole number of at least 0.
    """
    if not prepare_threshold or "postgresql" not in str(database.get("ENGINE", "")):
        return database
    if not (prepare_threshold.isascii() and prepare_threshold.isdigit()):
        raise ImproperlyConfigured(
            "DATABASE_PREPARE_THRESHOLD must be a whole number of at least 0 (empty: "
            f"no prepared statements), not {prepare_threshold!r}."
        )
    options = {
        **(database.get("OPTIONS") or {}),
        "server_side_binding": True,
        "prepare_threshold": int(prepare_threshold),
    }
    startup = f"{options.get('options', '')} -c plan_cache_mode=force_custom_plan".strip()
    return {**database, "OPTIONS": {**options, "options": startup}}
