"""Benchmark: 1,000 notifications through 2 Celery worker processes on Redis to an SMTP server.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python benchmarks/notifications.py

Use a scratch PostgreSQL database (it is migrated first); the benchmark's users and their
notifications are deleted at the end. It starts a real SMTP server (aiosmtpd) on a free port
(or `--smtp-port`) and `celery -A portal worker --concurrency 2` on a queue of its own,
waits for the worker to be ready, then 100 events each notify 10 people (1,000 rows, 100
transactions, delivery queued on commit). It prints the rate (notifications per second, from
the first row written to the last one marked sent) and the time until the last one is marked
sent.
Goal: at least 200 per second.
"""

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "b" * 40)
os.environ.setdefault("CELERY_QUEUE", f"portal-bench-{uuid.uuid4().hex[:8]}")
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
os.environ.setdefault("LOG_LEVEL", "WARNING")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--recipients", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument(
        "--smtp-port", type=int, default=0, help="the SMTP sink's port (default: a free one)"
    )
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL", "").startswith(
        "postgres"
    ):
        print("Set REDIS_URL and a PostgreSQL DATABASE_URL (a scratch database).")
        return 2

    from tests.integration.services import SmtpSink, free_port, wait_for

    sink = SmtpSink(args.smtp_port or free_port())
    sink.start()
    os.environ["EMAIL_HOST"], os.environ["EMAIL_PORT"] = "127.0.0.1", str(sink.port)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction

    from portal.models import Notification
    from portal.notifications import notify

    call_command("migrate", verbosity=0)
    User = get_user_model()
    prefix = f"bench-{uuid.uuid4().hex[:6]}-"
    people = User.objects.bulk_create(
        [
            User(username=f"{prefix}{i}", email=f"{prefix}{i}@example.com")
            for i in range(args.recipients)
        ]
    )
    log = ROOT / "var" / "benchmark-worker.log"
    log.parent.mkdir(exist_ok=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=prefork"]
        + [f"--concurrency={args.workers}", "--without-mingle", "--without-gossip"]
        + ["--without-heartbeat", "--loglevel=INFO"],
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "INFO"},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    total = args.events * args.recipients
    try:
        wait_for(lambda: b" ready." in log.read_bytes(), timeout=60, what="the worker")
        mine = Notification.objects.filter(recipient__username__startswith=prefix)

        started = time.perf_counter()
        for number in range(args.events):
            with transaction.atomic():
                notify(users=people, kind="benchmark", subject=f"Benchmark event {number}")
        created = time.perf_counter() - started
        wait_for(
            lambda: mine.filter(sent_at__isnull=False).count() == total,
            timeout=args.timeout,
            what=f"{total} notifications marked sent",
            interval=0.05,
        )
        first_written = mine.order_by("created_at").first().created_at
        last_sent = mine.order_by("-sent_at").first().sent_at
        elapsed = (last_sent - first_written).total_seconds()
        unique = len(set(sink.message_ids()))
        print(f"notifications:           {total} ({args.events} events x {args.recipients})")
        print(f"worker processes:        {args.workers}")
        print(f"written and queued in:   {created:.2f} s")
        print(f"last one marked sent at: {elapsed:.2f} s after the first was written")
        print(f"rate:                    {total / elapsed:.0f} notifications per second")
        print(f"e-mails received:        {len(sink.messages)} ({unique} distinct)")
        return 0
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        sink.stop()
        User.objects.filter(username__startswith=prefix).delete()


if __name__ == "__main__":
    sys.exit(main())
