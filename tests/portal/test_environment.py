"""Settings helpers: each local database's own directory for its audit heads and anchors."""

from pathlib import Path

from portal.environment import local_database_dir

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
