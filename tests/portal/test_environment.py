"""Settings helpers: each local database's own directory for its audit heads and anchors,
the planner's cost of a random read and the prepared statements on PostgreSQL."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from portal.environment import local_database_dir, with_planner_costs, with_prepared_statements
from portal.models import User

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


@pytest.mark.parametrize(
    ("tune", "value", "added"),
    [
        (with_planner_costs, "1.1", {"options": "-c random_page_cost=1.1"}),
        (
            with_prepared_statements,
            "5",
            {
                "server_side_binding": True,
                "prepare_threshold": 5,
                "options": "-c plan_cache_mode=force_custom_plan",
            },
        ),
    ],
)
def test_postgresql_connections_are_tuned_and_others_are_left_alone(tune, value, added):
    postgres = {"ENGINE": POSTGRES, "NAME": "portal", "OPTIONS": {"sslmode": "require"}}

    tuned = tune(postgres, value)

    assert tuned["OPTIONS"] == {"sslmode": "require", **added}
    assert postgres["OPTIONS"] == {"sslmode": "require"}  # the entry given is not changed
    # Empty: the server's own setting; for prepared statements Django's own way, the
    # parameters written into the text and nothing prepared (PgBouncer before 1.21).
    assert tune(postgres, "") is postgres
    sqlite = {"ENGINE": SQLITE, "NAME": "db.sqlite3"}
    assert tune(sqlite, value) is sqlite


def test_both_startup_options_reach_the_connection():
    postgres = {"ENGINE": POSTGRES, "NAME": "portal"}

    tuned = with_planner_costs(with_prepared_statements(postgres, "5"), "1.1")

    assert tuned["OPTIONS"]["options"] == (
        "-c plan_cache_mode=force_custom_plan -c random_page_cost=1.1"
    )


@pytest.mark.parametrize(
    ("tune", "variable", "value"),
    [
        *[
            (with_planner_costs, "DATABASE_RANDOM_PAGE_COST", v)
            for v in ("fast", "0", "-1", "nan", "inf")
        ],
        *[
            (with_prepared_statements, "DATABASE_PREPARE_THRESHOLD", v)
            for v in ("often", "-1", "2.5", " 5", "\u00b2")
        ],
    ],
)
def test_a_value_that_cannot_be_read_stops_the_process_naming_its_variable(tune, variable, value):
    with pytest.raises(ImproperlyConfigured, match=variable):
        tune({"ENGINE": POSTGRES, "NAME": "portal"}, value)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_portals_connections_plan_with_the_ssd_cost_of_a_random_read():
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone() == ("1.1",)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_statement_the_portal_runs_again_and_again_is_prepared_on_the_server():
    # Run more than DATABASE_PREPARE_THRESHOLD times (default 5) on a connection, one
    # statement text is prepared: a page's statements are then no longer parsed on every
    # later view. Empty (behind PgBouncer): never prepared.
    threshold = connection.settings_dict["OPTIONS"].get("prepare_threshold")

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql "
                "AND statement LIKE %s",
                ['%"portal_user"."first_name"::text) LIKE UPPER(%'],
            )
            return cursor.fetchone()[0]

    def run_the_statement() -> None:
        list(User.objects.filter(first_name__iendswith="-no-one").values_list("pk", flat=True))

    for _ in range(5 if threshold is None else threshold):
        run_the_statement()
    assert prepared() == 0
    run_the_statement()
    assert prepared() == (0 if threshold is None else 1)
    # Still planned for each run's own values: a search word's plan is not another's.
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("auto" if threshold is None else "force_custom_plan",)
