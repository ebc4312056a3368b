"""Real services the integration tests and the benchmarks run against: an SMTP server that
records what arrives, a free port, and a bounded wait. Plain code, no pytest.
"""

import asyncio
import email
import socket
import threading
import time
from collections import Counter

from aiosmtpd.controller import Controller


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.1):
    """Poll ``predicate`` until it is truthy; fail saying ``what`` did not happen in time."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"Timed out after {timeout:.0f}s waiting for {what}.")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """A real SMTP server on 127.0.0.1 keeping each message's Message-ID and recipients.

    ``stop()`` and ``start()`` again on the same port simulate the mail server going down
    and coming back; ``delay`` makes it slow (so a batch is still running when we kill);
    ``refuse`` maps a recipient address to the reply its RCPT TO gets (e.g. ``"550 5.1.1 No
    such user"`` for a permanent refusal, ``"450 4.2.1 Mailbox busy"`` for a transient one).
    """

    def __init__(self, port: int, delay: float = 0.0):
        self.port = port
        self.delay = delay
        self.refuse: dict[str, str] = {}
        self.messages: list[dict] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        refusal = self.refuse.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content)
        with self._lock:
            self.messages.append(
                {
                    "message_id": message["Message-ID"],
                    "to": list(envelope.rcpt_tos),
                    "subject": message["Subject"],
                }
            )
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def message_ids(self) -> list[str]:
        with self._lock:
            return [m["message_id"] for m in self.messages]

    def duplicates(self) -> int:
        """Copies beyond the first of any message (same Message-ID)."""
        return sum(n - 1 for n in Counter(self.message_ids()).values())


class OwnRedis:
    """A Redis server of the test's (or benchmark's) own on ``port``, never the shared one:
    ``stop()`` and ``start()`` again simulate Redis going down and coming back. No
    persistence: a restart starts empty, as a lost broker would."""

    def __init__(self, port: int, directory):
        self.port = port
        self.directory = str(directory)
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> None:
        import subprocess

        subprocess.run(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--daemonize", "yes", "--dir", self.directory]
            + ["--pidfile", f"{self.directory}/redis-{self.port}.pid"],
            check=True,
            capture_output=True,
        )
        wait_for(self.answers, timeout=10, what=f"Redis on port {self.port}")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        import subprocess

        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True
        )
        wait_for(lambda: not self.answers(), timeout=10, what=f"Redis {self.port} to stop")
