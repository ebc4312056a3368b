"""Settings helpers: each local database's own directory for its audit heads and anchors,
and the planner's cost of a random read on PostgreSQL."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from portal.environment import local_database_dir, with_planner_costs

SQLITE = "django.db.backends.sqlite3"
POSTGRES = "django.db.backends.postgresql"


def test_two_databases_of_one_name_never_share_a_directory(tmp_path):
    base = tmp_path / "audit-anchors"
    demo = {"ENGINE": SQLITE, "NAME": "/home/a/portal/db.sqlite3"}
    other_checkout = {"ENGINE": SQLITE, "NAME": "/tmp/test-run/db.sqlite3"}
    scale = {"ENGINE": POSTGRES, "NAME": "portal_scale_data", "HOST": "127.0.0.1", "PORT": 5432}
    other_host = {**scale, "HOST": "10.0.0.7"}

    dirs = [local_database_dir(base, db) for db in (demo, other_checkout, scale, other_host)]

    assert len(set(dirs)) == 4
    assert all(directory.parent == base for directory in dirs)
    names = [directory.name.rsplit("-", 1)[0] for directory in dirs]
    assert names == ["db", "db", "portal_scale_data", "portal_scale_data"]
    assert local_database_dir(base, dict(demo)) == dirs[0]  # the same database: the same one


def test_an_in_memory_database_gets_a_fresh_directory_outside_the_checkout(tmp_path):
    base = tmp_path / "audit-anchors"
    memory = {"ENGINE": SQLITE, "NAME": ":memory:"}

    first, second = local_database_dir(base, memory), local_database_dir(base, memory)

    assert first != second
    assert base not in first.parents and first.is_dir() and not any(Path(first).iterdir())


def test_postgresql_connections_get_the_random_page_cost_and_others_are_left_alone():
    postgres = {"ENGINE": POSTGRES, "NAME": "portal", "OPTIONS": {"sslmode": "require"}}

    tuned = with_planner_costs(postgres, "1.1")

    assert tuned["OPTIONS"] == {"sslmode": "require", "options": "-c random_page_cost=1.1"}
    assert postgres["OPTIONS"] == {"sslmode": "require"}  # the entry given is not changed
    assert with_planner_costs(postgres, "") is postgres  # empty: the server's own setting
    sqlite = {"ENGINE": SQLITE, "NAME": "db.sqlite3"}
    assert with_planner_costs(sqlite, "1.1") is sqlite


@pytest.mark.parametrize("value", ["fast", "0", "-1", "nan", "inf"])
def test_a_random_page_cost_that_is_no_positive_number_stops_the_process(value):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_RANDOM_PAGE_COST"):
        with_planner_costs({"ENGINE": POSTGRES, "NAME": "portal"}, value)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_portals_connections_plan_with_the_ssd_cost_of_a_random_read():
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone() == ("1.1",)
