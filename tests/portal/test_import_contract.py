"""The dependency contract of design.md holds, and it catches a forbidden arrow.

The contract lives in ``pyproject.toml`` (``[tool.importlinter]``) and is checked by
import-linter's ``lint-imports``, from the project's virtualenv; imports inside functions
count like any other. The first test checks the code as it is; the others plant one
forbidden import in a copy of the code and expect the check to fail naming that arrow, so a
contract loosened by mistake (a too-wide allowance) is noticed.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("portal", "customers", "consent", "incidents")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` run in ``project`` (its ``pyproject.toml``), without a cache
    directory; the process, with stdout and stderr as text."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_code_keeps_the_dependency_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, (
        "An import breaks the dependency contract in pyproject.toml (design.md, "
        "'How the parts depend on each other'):\n" + result.stdout + result.stderr
    )
    assert "0 broken" in result.stdout


@pytest.fixture
def code_copy(tmp_path) -> Path:
    """A copy of the project's packages and its pyproject.toml, to plant imports in."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "static", "migrations"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "planted", "arrow"),
    [
        # Eligibility importing access back: the cycle this contract was written against.
        (
            "consent/selectors.py",
            "from customers.services import access_request_create\n",
            "consent.selectors -> customers.services",
        ),
        # Hidden in a function, a back import still counts.
        (
            "consent/services.py",
            "def _planted():\n    from customers.selectors import grant_records\n",
            "consent.services -> customers.selectors",
        ),
        # Portal core looking down from a module that is not the dashboard or the URLs.
        (
            "portal/notifications.py",
            "from incidents.models import Incident\n",
            "portal.notifications -> incidents.models",
        ),
        # What consent reads of customers may not lean on access code.
        (
            "customers/visibility.py",
            "def _planted():\n    from customers.selectors import grant_records\n",
            "customers.visibility -> customers.selectors",
        ),
    ],
)
def test_a_forbidden_arrow_fails_the_check_and_is_named(code_copy, module, planted, arrow):
    with (code_copy / module).open("a") as source:
        source.write("\n\n" + planted)
    result = lint_imports(code_copy)
    assert result.returncode != 0, result.stdout
    assert arrow in result.stdout


def test_a_cycle_between_modules_of_an_app_fails_the_check(code_copy):
    # incidents.services imports incidents.models; the models importing the services back,
    # even inside a function, closes a cycle.
    with (code_copy / "incidents" / "models.py").open("a") as source:
        source.write("\n\ndef _planted():\n    from incidents import services\n")
    result = lint_imports(code_copy)
    assert result.returncode != 0, result.stdout
    assert "No cycles are allowed in incidents" in result.stdout
    assert ".models -> .services" in result.stdout


def test_tasks_queued_by_name_are_the_tasks_their_services_mean():
    # A service that queues its own task names it (the task module calls the service back,
    # so an import would close a cycle) and looks it up in the current Celery app, as a
    # shared task would; a renamed task must not leave the name dangling.
    from celery import current_app as app

    from consent.services.import_jobs import RUN_IMPORT_TASK
    from consent.tasks import run_consent_import_job
    from portal import notifications
    from portal.services import ANCHOR_TASK
    from portal.tasks import audit_anchor_requested, deliver_notifications

    assert app.tasks[ANCHOR_TASK] == audit_anchor_requested
    assert app.tasks[RUN_IMPORT_TASK] == run_consent_import_job
    assert app.tasks[notifications.DELIVER_TASK] == deliver_notifications
