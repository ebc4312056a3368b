"""Starting the test identity provider and signing in through it without a browser.

``TestProvider`` runs ``provider.mjs`` under Node on a free port of 127.0.0.1 and keeps its
people in a JSON file that the provider reads at every sign-in, so a test changes a
person's groups or second factor between two sign-ins (``person``). Without Node or the
installed package (``make oidc-provider``) a test skips locally and fails under CI=true.
"""

import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import requests

from tests.conftest import missing_service

HERE = Path(__file__).parent
CLIENT_ID = "compliance-portal"
CLIENT_SECRET = "test-client-secret-0123456789"
PASSWORD = "provider-password"


class TestProvider:
    """One provider process: ``issuer``, ``person(...)``, ``stop()``."""

    __test__ = False  # not a test class

    def __init__(self, work_dir: Path, redirect_uri: str):
        node = shutil.which("node")
        if node is None:
            missing_service("needs Node.js (node) for the test identity provider")
        if not (HERE / "node_modules" / "oidc-provider").is_dir():
            missing_service("needs the test identity provider's packages: make oidc-provider")
        self.users_file = work_dir / "provider-users.json"
        self.people: dict[str, dict] = {}
        self._write()
        # Up to three starts: on a busy machine node has been seen to exit before listening.
        # node's own messages go to a log beside the users file, quoted if it never starts.
        log = work_dir / "provider.log"
        for attempt in range(3):
            with log.open("a") as err:  # the child keeps its own copy
                self.process = subprocess.Popen(
                    [node, str(HERE / "provider.mjs")],
                    cwd=HERE,
                    env={
                        "PATH": "/usr/bin:/bin",
                        "OIDC_TEST_USERS_FILE": str(self.users_file),
                        "OIDC_TEST_CLIENT_ID": CLIENT_ID,
                        "OIDC_TEST_CLIENT_SECRET": CLIENT_SECRET,
                        "OIDC_TEST_REDIRECT_URIS": redirect_uri,
                    },
                    stdout=subprocess.PIPE,
                    stderr=err,
                    text=True,
                )
            first_line: list[str] = []
            reader = threading.Thread(
                target=lambda lines=first_line: lines.append(self.process.stdout.readline())
            )
            reader.start()
            reader.join(timeout=60)  # node's start on a busy CI machine
            if not first_line or not first_line[0].strip():
                self.stop()
                if attempt == 2:
                    said = log.read_text()[-2000:] if log.exists() else ""
                    raise RuntimeError(
                        f"the test identity provider did not start, three times: {said}"
                    )
                continue
            break
        self.issuer = json.loads(first_line[0])["issuer"]

    def person(self, username, *, groups=(), amr=("pwd",), acr=None, name=None):
        """Create or change a person at the provider (password ``PASSWORD``)."""
        self.people[username] = {
            "password": PASSWORD,
            "groups": list(groups),
            "amr": list(amr),
            "name": name or username.title(),
            **({"acr": acr} if acr else {}),
        }
        self._write()

    def _write(self):
        self.users_file.write_text(json.dumps(self.people))

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def sign_in_without_browser(
    session: requests.Session,
    portal_url: str,
    username: str,
    password: str = PASSWORD,
    next_path: str = "",
) -> requests.Response:
    """Click "Sign in with ..." and sign in at the provider's own page, as a browser would
    with plain HTTP: returns the last answer (the portal's page it ended on)."""
    start = portal_url + "/accounts/sso/start/" + (f"?next={next_path}" if next_path else "")
    at_provider = session.get(start, timeout=20)
    action = re.search(r'<form method="post" action="([^"]+)"', at_provider.text)
    if action is None:  # the provider still had a session: straight back to the portal
        return at_provider
    issuer = re.match(r"https?://[^/]+", at_provider.url).group(0)
    return session.post(
        issuer + action.group(1), data={"username": username, "password": password}, timeout=20
    )


GROUP_ROLES = {
    "portal-compliance": "Compliance",
    "portal-legal": "Legal",
    "portal-admins": "superuser",
}


def started_for(live_server, settings, work_dir: Path) -> TestProvider:
    """A provider for the live server, and the portal configured for it as
    docs/single-sign-on.md says (``settings`` is pytest-django's fixture). Stop it after."""
    provider = TestProvider(work_dir, redirect_uri=live_server.url + "/accounts/sso/callback/")
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.OIDC_PROVIDER_NAME = "Test IdP"
    settings.OIDC_GROUP_ROLES = GROUP_ROLES
    settings.LOCAL_LOGIN = "breakglass"
    # Production's switch: a single sign-on session must not be asked for the portal's TOTP.
    settings.OTP_REQUIRED = True
    return provider
