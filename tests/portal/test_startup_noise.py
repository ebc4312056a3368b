"""`make run` starts quietly: migrating, seeding the demo and its first request print
neither a system-check warning, nor kombu's "No hostname was supplied" warning, nor one
``celery.app.trace`` line per in-process task.

Each step runs as `make run` runs it: ``manage.py`` in a subprocess with the demo's
environment (``DEBUG=1 OTP_REQUIRED=0``, no ``REDIS_URL``: eager Celery, JSON logs) on a
fresh SQLite file.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOISE = ("No hostname was supplied", "celery.app.trace", "succeeded in", "System check identified")

# The first request of a fresh process: alice logs in through the login page and reports a
# concern, which queues the delivery of the notifications to Compliance and Legal.
FIRST_REQUEST = """
from django.test import Client
client = Client(SERVER_NAME="127.0.0.1")
login = client.post("/accounts/login/", {"username": "alice", "password": "demo"})
assert login.status_code == 302, login.status_code
answer = client.post("/incidents/report/", {
    "title": "Laptop left on the train",
    "description": "My work laptop stayed on the 8:05 train; it has customer lists on it.",
})
assert answer.status_code == 302, answer.content[:2000]
print("reported")
"""


def demo_manage(database: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "REDIS_URL", "CACHE_URL", "SECRET_KEY"}
    }
    env.update({"DEBUG": "1", "OTP_REQUIRED": "0", "DATABASE_URL": f"sqlite:///{database}"})
    # The audit heads beside the test's database, never in the checkout's var/.
    env["AUDIT_ANCHOR_DIR"] = str(database.parent / "audit-anchors")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_quiet(step: subprocess.CompletedProcess) -> None:
    assert step.returncode == 0, step.stdout[-3000:] + step.stderr[-3000:]
    output = step.stdout + step.stderr
    noisy = [line for line in output.splitlines() if any(word in line for word in NOISE)]
    assert noisy == [], "\n".join(noisy[:5])


def test_seeding_the_demo_and_its_first_request_print_no_broker_or_task_noise(tmp_path):
    database = tmp_path / "demo.sqlite3"
    for step in (("migrate", "--noinput"), ("load_taxonomy",)):
        assert_quiet(demo_manage(database, *step))  # no system-check warning either

    seeding = demo_manage(database, "seed_demo", "--no-accounts")
    assert_quiet(seeding)
    # The seed did queue notifications (e-mail printed to the console): the silence is not
    # for want of tasks.
    assert "Subject: New incident report" in seeding.stdout

    first_request = demo_manage(database, "shell", "-c", FIRST_REQUEST)
    assert_quiet(first_request)
    assert "reported" in first_request.stdout
    assert "Subject: New incident report" in first_request.stdout
