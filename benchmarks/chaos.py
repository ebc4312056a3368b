"""Chaos benchmark: the portal as in production while its database, its broker and its
worker fail, under a bounded load.

    .venv/bin/python benchmarks/chaos.py [--users 5] [--seconds 90]

Starts everything of its own on free ports of 127.0.0.1, never the shared services: a
PostgreSQL (initdb into a temporary directory, run as the ``postgres`` user when started as
root), a Redis (no persistence), an SMTP sink (aiosmtpd), gunicorn (2 workers), a Celery
worker and beat. ``--users`` simulated reporters together send one incident report every
2 seconds through ``POST /api/incidents/`` (and one reads ``GET /api/incidents/`` every 0.1 s,
to measure the error windows finely), each with an ``Idempotency-Key`` and up to 5
retries with the same key (1 s apart) on an error or no answer, as a careful client does.
During the load it restarts PostgreSQL (``pg_ctl restart -m fast``), stops Redis for 5 s and
starts it again (empty), and SIGKILLs the worker and starts a new one. Then it waits for the
outbox to drain and prints:

- the error window after each fault: first to last failed attempt;
- requests: attempts, failed attempts, reports that failed even after their retries, and
  incidents filed twice (two incidents for one report: the half-commit);
- delivery accounting: notifications expected (rows written), sent, pending, failed, and
  e-mails duplicated by Message-ID at the SMTP sink.

Everything is stopped and the temporary directory removed at the end.
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.services import OwnRedis, SmtpSink, free_port, wait_for  # noqa: E402

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]


def as_postgres(args: list[str]) -> list[str]:
    """initdb and pg_ctl refuse to run as root: run them as ``postgres`` then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class OwnPostgres:
    def __init__(self, directory: Path, port: int):
        self.data = directory / "pgdata"
        self.port = port
        self.log = directory / "postgres.log"
        self.url = f"postgres://postgres@127.0.0.1:{port}/chaos"

    def init(self) -> None:
        self.data.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.data.parent, "postgres")
            shutil.chown(self.data, "postgres")
        subprocess.run(
            as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust"])
            + ["-U", "postgres"],
            check=True,
            capture_output=True,
        )
        self.ctl("start")
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U"]
            + ["postgres", "chaos"],
            check=True,
        )

    def ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        subprocess.run(
            as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log)])
            + ["-o", options, "-w", action, *extra],
            check=True,
            capture_output=True,
        )

    def query(self, sql: str):
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql).fetchall()


class Load:
    """Reporters posting incidents with an Idempotency-Key and retries; every attempt is
    recorded (time, ok, status)."""

    def __init__(self, base: str, tokens: list[str], interval: float):
        self.base, self.tokens, self.interval = base, tokens, interval
        self.attempts: list[tuple[float, bool, str]] = []
        self.probes: list[tuple[float, bool, str]] = []
        self.reports: list[dict] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def post(self, token: str, body: dict, key: str) -> tuple[bool, str, dict | None]:
        request = urllib.request.Request(
            self.base + "/api/incidents/",
            data=json.dumps(body).encode(),
            headers={
                "Authorization": f"Token {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": key,
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status == 201, str(response.status), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return False, str(error.code), None
        except OSError as error:
            return False, type(error).__name__, None

    def prober(self, token: str) -> None:
        """A page read every 0.1 s, so the error window is measured to a tenth of a second
        (the reports alone come every 2 s)."""
        request = urllib.request.Request(
            self.base + "/api/incidents/", headers={"Authorization": f"Token {token}"}
        )
        while not self.stop.wait(0.1):
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    ok, code = response.status == 200, str(response.status)
            except urllib.error.HTTPError as error:
                ok, code = False, str(error.code)
            except OSError as error:
                ok, code = False, type(error).__name__
            with self.lock:
                self.probes.append((time.monotonic(), ok, code))

    def reporter(self, number: int, token: str) -> None:
        sequence = 0
        time.sleep(number * self.interval / len(self.tokens))
        while not self.stop.is_set():
            started = time.monotonic()
            sequence += 1
            title = f"Chaos report {number}-{sequence}"
            body = {"title": title, "description": "Found during the chaos benchmark."}
            key = uuid.uuid4().hex
            report = {"title": title, "ok": False, "attempts": 0, "reference": None}
            for _ in range(6):  # the first try and 5 retries with the same key
                ok, code, answer = self.post(token, body, key)
                report["attempts"] += 1
                with self.lock:
                    self.attempts.append((time.monotonic(), ok, code))
                if ok:
                    report["ok"], report["reference"] = True, answer["reference"]
                    break
                time.sleep(1)
            with self.lock:
                self.reports.append(report)
            period = self.interval * len(self.tokens)
            self.stop.wait(max(0.0, period - (time.monotonic() - started)))


def error_windows(attempts, faults) -> list[str]:
    lines = []
    for index, (name, at) in enumerate(faults):
        until = faults[index + 1][1] if index + 1 < len(faults) else float("inf")
        failed = [t for t, ok, _ in attempts if not ok and at - 1 <= t < until]
        codes = Counter(code for t, ok, code in attempts if not ok and at - 1 <= t < until)
        if failed:
            window = f"{max(failed) - min(failed):.2f} s ({len(failed)} failed: {dict(codes)})"
        else:
            window = "none"
        lines.append(f"    {name:<26} error window {window}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=90, help="length of the load")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="portal-chaos-"))
    os.chmod(tmp, 0o755)
    pg = OwnPostgres(tmp, free_port())
    redis = OwnRedis(free_port(), tmp)
    sink = SmtpSink(free_port())
    processes: dict[str, subprocess.Popen] = {}
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_URL")},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": pg.url,
        "REDIS_URL": redis.url,
        "DEBUG": "0",
        "SECRET_KEY": "chaos-benchmark-only-" + "c" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "OTP_REQUIRED": "0",
        "STATIC_ROOT": str(tmp / "static"),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "EMAIL_TIMEOUT": "5",
        "CELERY_QUEUE": "chaos",
        "CELERY_TASK_TIME_LIMIT": "30",
        "NOTIFICATION_CLAIM_TIMEOUT": "45",
        "NOTIFICATION_SWEEP_AGE": "5",
        "NOTIFICATION_SWEEP_INTERVAL": "5",
        "NOTIFICATION_RETRY_BACKOFF": "2",
        "NOTIFICATION_RETRY_BACKOFF_MAX": "10",
        "LOG_LEVEL": "WARNING",
    }
    python = str(ROOT / ".venv" / "bin" / "python")

    def start(name: str, command: list[str]) -> None:
        log = open(tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        processes[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def celery(role: str) -> list[str]:
        extra = (
            ["--pool=prefork", "--concurrency=2", "--without-mingle", "--without-gossip"]
            if role == "worker"
            else [f"--schedule={tmp / 'beat-schedule'}", "--max-interval=1"]
        )
        return [python, "-m", "celery", "-A", "portal", role, "--loglevel=WARNING", *extra]

    try:
        print("Starting PostgreSQL, Redis and the SMTP sink of our own ...", flush=True)
        pg.init()
        redis.start()
        sink.start()
        subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [python, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        setup = (
            "from django.contrib.auth.models import Group\n"
            "from rest_framework.authtoken.models import Token\n"
            "from portal.models import User\n"
            "from portal import roles\n"
            "for name, group in [('olivia', roles.COMPLIANCE), ('conrad', roles.COMPLIANCE)]:\n"
            "    u = User.objects.create(username=name, email=name + '@example.com')\n"
            "    u.groups.add(Group.objects.get_or_create(name=group)[0])\n"
            f"for i in range({args.users}):\n"
            "    u = User.objects.create(username=f'reporter{i}', email=f'r{i}@example.com')\n"
            "    print(Token.objects.create(user=u).key)\n"
        )
        out = subprocess.run(
            [python, "manage.py", "shell", "-c", setup],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        tokens = re.findall(r"^[0-9a-f]{40}$", out.stdout, re.MULTILINE)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        start(
            "gunicorn",
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "portal.wsgi"]
            + ["--workers", "2", "--bind", f"127.0.0.1:{port}", "--timeout", "30"],
        )
        start("worker", celery("worker"))
        start("beat", celery("beat"))

        def up() -> bool:
            try:
                return urllib.request.urlopen(base + "/accounts/login/", timeout=2).status == 200
            except OSError:
                return False

        wait_for(up, timeout=60, what="gunicorn")
        load = Load(base, tokens, interval=2.0)
        threads = [
            threading.Thread(target=load.reporter, args=(i, token), daemon=True)
            for i, token in enumerate(tokens)
        ] + [threading.Thread(target=load.prober, args=(tokens[0],), daemon=True)]
        t0 = time.monotonic()
        for thread in threads:
            thread.start()
        print(f"Load: {len(tokens)} reporters, a report every 2 s, {args.seconds} s", flush=True)

        faults: list[tuple[str, float]] = []

        def at(fraction: float) -> None:
            time.sleep(max(0.0, t0 + args.seconds * fraction - time.monotonic()))

        at(0.2)
        faults.append(("PostgreSQL restart", time.monotonic()))
        pg.ctl("restart", "-m", "fast")
        print(f"  {time.monotonic() - t0:5.1f} s  PostgreSQL restarted", flush=True)
        at(0.45)
        faults.append(("Redis stopped 5 s", time.monotonic()))
        redis.stop()
        time.sleep(5)
        redis.start()
        print(f"  {time.monotonic() - t0:5.1f} s  Redis stopped 5 s and started", flush=True)
        at(0.7)
        faults.append(("worker SIGKILL", time.monotonic()))
        os.killpg(processes["worker"].pid, signal.SIGKILL)
        processes["worker"].wait()
        start("worker", celery("worker"))
        print(f"  {time.monotonic() - t0:5.1f} s  worker killed and restarted", flush=True)
        at(1.0)
        load.stop.set()
        for thread in threads:
            thread.join(timeout=70)

        def counts():
            return dict(
                pg.query(
                    "SELECT CASE WHEN sent_at IS NOT NULL THEN 'sent' WHEN failed_at IS NOT "
                    "NULL THEN 'failed' ELSE 'pending' END, count(*) FROM portal_notification "
                    "GROUP BY 1"
                )
            )

        drained = time.monotonic()
        try:
            wait_for(lambda: not counts().get("pending"), timeout=120, what="the outbox")
        except TimeoutError as error:
            print(f"  {error}")
        drain = time.monotonic() - drained
        time.sleep(2)

        state = counts()
        expected = sum(state.values())
        incidents = Counter(title for (title,) in pg.query("SELECT title FROM incidents_incident"))
        ok = [r for r in load.reports if r["ok"]]
        failed_reports = [r for r in load.reports if not r["ok"]]
        failed_attempts = [a for a in load.attempts if not a[1]]
        message_ids = sink.message_ids()
        stale = pg.query(
            "SELECT count(*) FROM portal_notification WHERE claimed_at IS NOT NULL AND "
            "sent_at IS NULL AND claimed_at < now() - interval '5 seconds'"
        )[0][0]

        print("\nError windows (first to last failed request after each fault):")
        print("  reports (POST, every 2 s):")
        print("\n".join(error_windows(load.attempts, faults)))
        print("  reads (GET /api/incidents/, every 0.1 s):")
        print("\n".join(error_windows(load.probes, faults)))
        print("\nRequests:")
        print(
            f"  reports sent {len(load.reports)}, answered 201 {len(ok)}, "
            f"failed after 5 retries {len(failed_reports)}"
        )
        print(
            f"  attempts {len(load.attempts)}, failed attempts {len(failed_attempts)} "
            f"({dict(Counter(code for _, _, code in failed_attempts))})"
        )
        print(
            f"  incidents filed {sum(incidents.values())} for {len(incidents)} reports; "
            f"filed twice: {sum(1 for n in incidents.values() if n > 1)}"
        )
        lost = [r["title"] for r in ok if r["title"] not in incidents]
        print(f"  answered 201 but not filed: {len(lost)}")
        print("\nDelivery accounting:")
        print(
            f"  expected {expected}, sent {state.get('sent', 0)}, pending "
            f"{state.get('pending', 0)}, failed {state.get('failed', 0)}, "
            f"stale claims {stale}; drained {drain:.1f} s after the load"
        )
        print(
            f"  e-mails at the sink {len(message_ids)}, distinct Message-IDs "
            f"{len(set(message_ids))}, duplicated {sink.duplicates()}"
        )
        return 0
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        sink.stop()
        if redis.answers():
            redis.stop()
        with contextlib.suppress(subprocess.CalledProcessError):
            pg.ctl("stop", "-m", "fast")
        if args.keep:
            print(f"Logs in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
