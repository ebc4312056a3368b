"""Shared start of the benchmarks that own a PostgreSQL database.

``django_on_own_database(default_url, env)``: the database named by ``BENCH_DATABASE_URL``
(or ``default_url``) is created if missing, Django is set up on it with ``env`` as
defaults for unset variables, and it is migrated. Nobody else's data is touched.
``empty_customer_data(cursor)``: that database's customers, assets, grants and consent go,
before a data set is rebuilt.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def django_on_own_database(default_url: str, env: dict[str, str] | None = None) -> str:
    """Create (if needed), set up Django on and migrate the benchmark's own database.
    Returns its URL."""
    url = os.environ.get("BENCH_DATABASE_URL", default_url)
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    for name, value in (env or {}).items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return url


def empty_customer_data(cursor) -> None:
    """Remove every customer, asset, access request, grant and consent record or state
    (with their history rows) of the benchmark's own database."""
    cursor.execute(
        "TRUNCATE consent_consentstate, consent_consentrecord, customers_accessgrant, "
        "customers_historicalaccessgrant, customers_accessrequest, "
        "customers_historicalaccessrequest, customers_assetcustomer, "
        "customers_dataasset_collected_for, customers_dataasset_data_categories, "
        "customers_dataasset, customers_customer CASCADE"
    )
