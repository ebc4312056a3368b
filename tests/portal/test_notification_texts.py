"""Notification texts live in templates/notifications/, one subject and one body per kind:
every kind a service sends has them, every text there is sent by some service, and they
reach people as plain text."""

import ast
import re
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines

from customers.models.subject_requests import ReminderKind
from portal.models import Notification
from portal.notifications import (
    TEXTS,
    UnknownNotificationKind,
    notification_kinds,
    notification_texts,
    notify,
)

ROOT = Path(settings.BASE_DIR)
APPS = ["customers", "consent", "incidents", "portal"]
# The functions a service tells people through, with the kind as a keyword.
SENDERS = {"notify", "tell"}


def _module_constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }


def _kind_patterns(node: ast.expr, constants: dict[str, str]) -> list[str]:
    """The kinds a ``kind=`` argument can take, as regular expressions (an f-string's
    placeholders match any name)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [re.escape(node.value)]
    if isinstance(node, ast.Name) and node.id in constants:
        return [re.escape(constants[node.id])]
    if isinstance(node, ast.IfExp):
        return _kind_patterns(node.body, constants) + _kind_patterns(node.orelse, constants)
    if isinstance(node, ast.JoinedStr):
        return [
            "".join(
                re.escape(part.value) if isinstance(part, ast.Constant) else "[a-z0-9_]+"
                for part in node.values
            )
        ]
    raise AssertionError(f"a kind the test cannot read: {ast.unparse(node)}")


def sent_kinds() -> dict[str, str]:
    """Every kind pattern passed to a sender in the apps' code, with where it is."""
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            constants = _module_constants(tree)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                for keyword in node.keywords:
                    if name in SENDERS and keyword.arg == "kind":
                        value = keyword.value
                        if isinstance(value, ast.Name) and value.id not in constants:
                            continue  # a parameter passed on (``tell`` to ``notify``)
                        for pattern in _kind_patterns(keyword.value, constants):
                            found[pattern] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_the_code_sends_kinds_at_all():
    kinds = sent_kinds()
    assert len(kinds) > 20
    assert re.escape("grant_revoked") in kinds


def test_every_kind_a_service_sends_has_a_subject_and_a_body():
    kinds = notification_kinds()
    for pattern, where in sent_kinds().items():
        matching = [kind for kind in kinds if re.fullmatch(pattern, kind)]
        assert matching, f"{where} sends {pattern!r}, which has no texts in templates/{TEXTS}/"
        for kind in matching:
            assert (ROOT / "templates" / TEXTS / f"{kind}-body.txt").exists(), kind
    for reminder in ReminderKind.values:  # the subject request reminders: one kind each
        assert f"subject_request_{reminder}" in kinds


def test_every_text_in_the_templates_is_sent_by_some_service():
    patterns = sent_kinds()
    unused = {
        kind
        for kind in notification_kinds()
        if not any(re.fullmatch(pattern, kind) for pattern in patterns)
    }
    assert unused == set()
    bodies = {path.name.removesuffix("-body.txt") for path in _texts().glob("*-body.txt")}
    assert bodies == notification_kinds()


def _texts() -> Path:
    return ROOT / "templates" / TEXTS


def test_parts_end_without_a_line_break():
    """A part is included in the middle of a line; a final newline would break it."""
    parts = list((_texts() / "parts").glob("*.txt"))
    assert parts
    for part in parts:
        assert not part.read_text().endswith("\n"), part.name


def test_every_kind_renders_without_a_template_error():
    engine = engines["django"].engine
    for kind in notification_kinds():
        for half in ("subject", "body"):
            engine.get_template(f"{TEXTS}/{kind}-{half}.txt")  # raises on a syntax error


@pytest.mark.django_db
def test_a_kind_without_texts_is_refused_and_nothing_is_written(requester):
    for kind in ["grant_revokd", "../base", "Grant_revoked", ""]:
        with pytest.raises(UnknownNotificationKind):
            notify(users=[requester], kind=kind, context={})
    assert not Notification.objects.exists()


def test_texts_are_plain_text_nothing_is_html_escaped():
    subject, body = notification_texts(
        "grant_revoked",
        {
            "grant": {"asset": {"name": 'R&D <"Sales">'}},
            "actor": "Ana O'Neil",
            "reason": "Left the <team> & moved on",
        },
    )
    assert subject == 'Access revoked: R&D <"Sales">'
    assert body == 'Ana O\'Neil revoked your access to R&D <"Sales">: Left the <team> & moved on'


def test_the_body_keeps_its_lines_and_loses_only_the_files_final_newline():
    _, body = notification_texts(
        "subject_request_due_in_2",
        {
            "subject_request": {
                "reference": "DSR-7",
                "get_type_display": "Access",
                "due_on": date(2026, 3, 5),
            },
            "waiting_owners": ["Olav Owner", "Kari Keeper"],
            "days": 2,
        },
    )
    assert body == (
        "The Access request DSR-7 must be answered by 5 Mar 2026. "
        "Waiting for: Olav Owner, Kari Keeper."
    )
