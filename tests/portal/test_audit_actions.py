"""The audit actions are one list (``portal.audit_actions.AuditAction``): the trail refuses
anything else, the code names every action through the list, and no stored value changes."""

import ast
import re
from pathlib import Path

import pytest

from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
APPS = ("customers", "consent", "incidents", "portal")

# The values events already carry in existing databases: the audit log's filters, the
# exported CSV and compliance's own tools match on them, so none may be renamed.
STORED_VALUES = [
    "auth.login",
    "auth.logout",
    "auth.login_failed",
    "auth.lockout",
    "auth.otp_enrol",
    "auth.otp_verify",
    "auth.otp_failed",
    "auth.password_change",
    "auth.token_issue",
    "auth.sso_login",
    "auth.sso_refused",
    "account.sso_provision",
    "account.sso_link",
    "role.grant",
    "role.revoke",
    "group.member_add",
    "group.member_remove",
    "permission.assign",
    "permission.remove",
    "admin.add",
    "admin.change",
    "admin.delete",
    "audit.anchor",
    "audit.verify_failed",
    "audit.export",
    "notification.retry",
    "approval.approve",
    "approval.deny",
    "approval.withdraw",
    "approval.reassign",
    "asset.classification_change",
    "asset.owner_change",
    "asset.collection_purposes_change",
    "asset.retention_change",
    "asset.retention_delete",
    "access_request.create",
    "access_request.refused",
    "grant.create",
    "grant.revoke",
    "grant.expire",
    "records.view",
    "export.download",
    "subject_request.create",
    "subject_request.close",
    "subject_request.extend",
    "subject_request.erase",
    "subject_request.report",
    "subject_request.due_in_7",
    "subject_request.due_in_2",
    "subject_request.overdue",
    "erasure_task.create",
    "erasure_task.confirm",
    "purpose.lawful_basis_change",
    "consent.record",
    "consent.import",
    "consent_import_job.create",
    "consent_import_job.finish",
    "consent_import_job.errors_download",
    "sharing_request.create",
    "sharing_request.refused",
    "sharing_request.deletion_confirmed",
    "sharing_package.create",
    "sharing_package.delete",
    "sharing.withdrawal_to_forward",
    "sharing.withdrawal_forwarded",
    "incident.report",
    "incident.acknowledge",
    "incident.triage",
    "incident.note",
    "incident.regime_apply",
    "incident.duty_record",
    "incident.awareness",
    "incident.no_risk_propose",
    "incident.no_risk_confirm",
    "incident.customer_notice",
    "incident.escalate",
    "incident.reminder",
    "incident.overdue",
]


def test_no_stored_action_value_was_renamed_or_dropped():
    assert set(STORED_VALUES) <= set(AuditAction.values)
    assert len(AuditAction.values) == len(set(AuditAction.values))


def test_an_action_outside_the_list_is_refused_and_nothing_is_written(db):
    before = AuditEvent.objects.count()

    with pytest.raises(ValueError, match="'grant.vanish' is not an audit action"):
        audit_record(actor=None, action="grant.vanish")

    assert AuditEvent.objects.count() == before


def test_an_action_given_as_its_stored_value_is_recorded_with_that_value(db):
    event = audit_record(actor=None, action="records.view")

    assert AuditEvent.objects.get(pk=event.pk).action == AuditAction.RECORDS_VIEW == "records.view"


def _code_files():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


ACTION_SHAPED = re.compile(r"^[a-z_0-9]+\.[a-z_0-9]+$")


def _action_literals(tree: ast.AST):
    """Action-shaped strings (``grant.create``) or f-strings given where an action goes:
    ``action=...`` (and ``action__in`` and the other lookups), the action argument of the
    admin's ``_audit``, and comparisons with an event's ``.action``."""
    for node in ast.walk(tree):
        values = []
        if isinstance(node, ast.Call):
            values = [kw.value for kw in node.keywords if kw.arg and kw.arg.startswith("action")]
            if getattr(node.func, "attr", None) == "_audit" and len(node.args) >= 3:
                values.append(node.args[2])
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(side, ast.Attribute) and side.attr == "action" for side in sides):
                values = sides
        for value in values:
            for sub in ast.walk(value):
                if isinstance(sub, ast.JoinedStr) or (
                    isinstance(sub, ast.Constant)
                    and isinstance(sub.value, str)
                    and ACTION_SHAPED.match(sub.value)
                ):
                    yield sub


def test_the_code_names_every_audit_action_through_the_list():
    members = set(AuditAction.names)
    literals, unknown = [], []
    for path in _code_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        where = path.relative_to(ROOT)
        literals += [f"{where}:{node.lineno}" for node in _action_literals(tree)]
        unknown += [
            f"{where}:{node.lineno} AuditAction.{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "AuditAction"
            and node.attr not in members
            and not hasattr(AuditAction, node.attr)
        ]

    assert literals == [], "use AuditAction members, not strings, for audit actions"
    assert unknown == []
