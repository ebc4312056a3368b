"""Real services for the integration tests: Redis, `celery worker` / `celery beat`
processes and an SMTP server (aiosmtpd) that records what arrives.

The test process plays the web server: ``notify`` queues on commit through a Celery app
pointed at the real Redis (``broker`` fixture). The worker and beat are separate processes
started with ``portal.settings`` (production settings, not eager: ``tests.settings`` forces
eager mode), the pytest test database, the SMTP sink's port and short timings, so recovery
paths that take minutes in production take seconds here. Each test gets its own queue name,
so nothing left in Redis by one test (or by anybody else using the same Redis) reaches
another test's worker.
"""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import Celery
from django.conf import settings

from tests.conftest import redis_url
from tests.integration.services import OwnRedis, SmtpSink, free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "integration-tests-only-" + "s" * 40


@pytest.fixture
def smtp_sink():
    sink = SmtpSink(free_port())
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_port_down():
    """An SmtpSink that is not listening yet: ``start()`` brings the mail server up."""
    sink = SmtpSink(free_port())
    yield sink
    sink.stop()


@pytest.fixture
def queue_name():
    name = f"portal-test-{uuid.uuid4().hex[:10]}"
    yield name
    import redis

    client = redis.Redis.from_url(redis_url())
    for key in client.scan_iter(match=f"{name}*"):
        client.delete(key)


def database_url() -> str:
    """The pytest test database (``test_<name>``), which the worker must use too."""
    from django.db import connection

    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{db['NAME']}"


def process_env(*, queue: str, smtp_port: int, **extra: str) -> dict:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url(),
        "CELERY_QUEUE": queue,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_TIMEOUT": "3",
        # Seconds instead of minutes, so recovery is seen within a test.
        "NOTIFICATION_RETRY_BACKOFF": "1",
        "NOTIFICATION_RETRY_BACKOFF_MAX": "2",
        "NOTIFICATION_SWEEP_AGE": "1",
        "NOTIFICATION_SWEEP_INTERVAL": "1",
        "CELERY_TASK_TIME_LIMIT": "4",
        "NOTIFICATION_CLAIM_TIMEOUT": "5",
        "LOG_LEVEL": "INFO",
        # The audit log's key and this test's anchor directory: beat's every-second
        # sealer then seals, as in production, instead of failing for want of a key.
        "AUDIT_KEYS": settings.AUDIT_KEYS,
        "AUDIT_ANCHOR_DIR": str(settings.AUDIT_ANCHOR_DIR),
    }
    env.update(extra)
    return env


class CeleryProcesses:
    """Starts `celery worker` / `celery beat` like the Procfile does, and stops them all."""

    def __init__(self, tmp_path: Path, queue: str, smtp_port: int):
        self.tmp_path = tmp_path
        self.queue = queue
        self.smtp_port = smtp_port
        self.started: list[subprocess.Popen] = []

    def _start(self, name: str, args: list[str], **env: str) -> subprocess.Popen:
        log = open(self.tmp_path / f"{name}-{len(self.started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", *args],
            cwd=ROOT,
            env=process_env(queue=self.queue, smtp_port=self.smtp_port, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() reaches the pool too
        )
        self.started.append(process)
        return process

    def worker(self, concurrency: int = 2, **env: str) -> subprocess.Popen:
        return self._start(
            "worker",
            [
                "worker",
                "--pool=prefork",
                f"--concurrency={concurrency}",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "--loglevel=INFO",
                f"--hostname=test-{uuid.uuid4().hex[:6]}@%h",
            ],
            **env,
        )

    def beat(self, **env: str) -> subprocess.Popen:
        return self._start(
            "beat",
            [
                "beat",
                "--loglevel=INFO",
                f"--schedule={self.tmp_path / 'beat-schedule'}",
                "--max-interval=1",
            ],
            **env,
        )

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL the worker and its pool processes at once: no chance to clean up."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.tmp_path.glob("*.log"))
        )


@pytest.fixture
def celery_processes(tmp_path, queue_name, request):
    """Factory of worker and beat processes; the test sets ``smtp_port`` before starting."""
    processes = CeleryProcesses(tmp_path, queue_name, smtp_port=0)
    yield processes
    processes.stop_all()
    report = request.node.stash.get(_failed_key, False)
    if report:
        print(processes.logs())


_failed_key = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_failed_key] = True
    return report


def celery_app_for(broker_url: str, queue: str) -> Celery:
    app = Celery("portal-integration", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(
        broker_url=broker_url,
        task_always_eager=False,
        task_default_queue=queue,
        result_backend=None,
    )
    return app


@pytest.fixture
def broker(queue_name):
    """Point this test process's ``notify`` at a broker: ``broker.use(url)``.

    By default the real Redis; a closed port plays Redis being down.
    """
    from portal.celery import app as portal_app

    class Broker:
        app: Celery | None = None

        def use(self, url: str) -> Celery:
            if self.app is not None:
                self.app.close()
            self.app = celery_app_for(url, queue_name)
            self.app.set_current()
            return self.app

    current = Broker()
    current.use(redis_url())
    yield current
    current.app.close()
    portal_app.set_current()


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of the test's own, which it may stop and start (never the shared one)."""
    server = OwnRedis(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()
