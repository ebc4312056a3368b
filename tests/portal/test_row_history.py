"""Every state change of a model with row history leaves a history row with its user and
reason: bulk changes included, not only ``save()``.

``QuerySet.update()`` writes no history at all, so a state change made with it is
invisible in the row's history. These tests scan the code for every ``.update(`` call and
fail on one that is not on the allow-list below (counters and delivery markers only). The
behaviour itself is tested where it happens: a denied or withdrawn request's cancelled
steps (tests/customers/test_access_requests.py), a waived breach duty
(tests/incidents/test_triage.py).
"""

import ast
from pathlib import Path

from django.apps import apps
from simple_history.models import registered_models

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("portal", "customers", "consent", "incidents")


# --- every .update( on a history-tracked model -------------------------------------------

# (file, enclosing function) -> (model label, the fields it may set, why no history row).
# Only counters and delivery/claim markers belong here: a value that is recomputed or a
# "done once" marker of a job, never a state a person decides. A state change goes
# through ``portal.history.update_with_history`` instead.
ALLOWED_UPDATES = {
    ("portal/identity/scim_tokens.py", "scim_token_authenticate"): (
        "portal.ScimToken",
        {"last_used_at"},
        "marker: when the directory last used the token, at most once a minute (the SCIM "
        "requests' own effects carry their history and audit events)",
    ),
    ("customers/services/assets.py", "asset_customer_counts_refresh"): (
        "customers.DataAsset",
        {"customer_count"},
        "counter: recomputed from the membership rows, which carry their own history",
    ),
    ("customers/services/grants.py", "grants_remind_expiring"): (
        "customers.AccessGrant",
        {"expiry_reminder_sent_at"},
        "marker: the beat job's conditional claim that it reminded once (the notification "
        "row is the record)",
    ),
    ("customers/services/access_reviews.py", "_claim_reminder"): (
        "customers.AccessReview",
        {"week_reminder_sent_at", "day_reminder_sent_at"},
        "marker: the beat job's conditional claim that it sent an access review's week or "
        "day reminder once (the notification rows are the record)",
    ),
    ("consent/services/packages.py", "sharing_package_download"): (
        "consent.SharingPackage",
        {"download_count"},
        "counter: each download is also an audit event",
    ),
    ("consent/services/recipient_deletion.py", "sharing_deletion_remind"): (
        "consent.SharingRequest",
        {"deletion_reminded_on"},
        "marker: the beat job's conditional claim that today's reminder went out (the "
        "notification row is the record)",
    ),
    # Notification delivery bookkeeping: the notification row itself is the record of its
    # delivery, and a claim must be one conditional statement.
    ("portal/notification_delivery.py", "_mark_sent"): (
        "portal.Notification",
        {"sent_at", "claimed_at", "last_error", "next_attempt_at"},
        "marker: delivery bookkeeping of the notification row (the server accepted it)",
    ),
    ("portal/notification_delivery.py", "_send_claimed"): (
        "portal.Notification",
        {"sent_at", "last_error"},
        "marker: delivery bookkeeping of a row with no e-mail address (the inbox delivers it)",
    ),
    ("portal/notification_delivery.py", "notification_release"): (
        "portal.Notification",
        {"claimed_at"},
        "marker: a worker's claim released after an interrupted batch",
    ),
    ("portal/scheduled_jobs.py", "scheduled_job_record"): (
        "portal.ScheduledJobRun",
        {None},  # ``**fields``: last_started_at, last_success_at or last_error, by event
        "not history-tracked: a scheduled job's last start, success and error",
    ),
    # Kept coverage figures are a cache of counts (consent/coverage_cache.py): the consent
    # records and memberships they are counted from carry the history.
    ("consent/coverage_cache.py", "_start_new_generation"): (
        "consent.CoverageFigure",
        {"number", "stale_since"},
        "not history-tracked: the generation counter and the figures' out-of-date marker",
    ),
    ("consent/coverage_cache.py", "_mark_if_overtaken"): (
        "consent.CoverageFigure",
        {"stale_since"},
        "not history-tracked: a kept figure's out-of-date marker",
    ),
    ("consent/coverage_cache.py", "coverage_figures_recount"): (
        "consent.CoverageFigure",
        {"eligible", "total", "lawful_basis", "generation", "counted_at", "stale_since"},
        "not history-tracked: a kept figure recounted",
    ),
    ("portal/notification_delivery.py", "_record_failure"): (
        "portal.Notification",
        {"claimed_at", "last_error", "next_attempt_at"},
        "marker: delivery bookkeeping of the notification row",
    ),
    ("portal/notification_delivery.py", "_record_permanent_failure"): (
        "portal.Notification",
        {"claimed_at", "failed_at", "last_error", "next_attempt_at"},
        "marker: delivery bookkeeping of the notification row (a retry is a service with history)",
    ),
    ("portal/notifications.py", "notification_outbox_sweep"): (
        "portal.Notification",
        {"next_attempt_at"},
        "marker: delivery bookkeeping of the notification row",
    ),
    ("portal/notifications.py", "notification_mark_read"): (
        "portal.Notification",
        {"read_at"},
        "marker: the reader's own read marker",
    ),
    ("portal/notifications.py", "notification_mark_all_read"): (
        "portal.Notification",
        {"read_at"},
        "marker: the reader's own read marker",
    ),
    ("incidents/views.py", "_detail_context"): (
        None,
        {
            "regime_form",
            "impact",
            "no_risk_form",
            "customer_notice_form",
            "timeline",
            "awareness_form",
            "note_form",
            "triage_form",
            "duties",
            "user_can_confirm_no_risk",
            "duty_forms",
        },
        "not a queryset: a template context dict",
    ),
}


class _UpdateCallFinder(ast.NodeVisitor):
    """Collects ``<expr>.update(<keywords only>)`` calls with their outermost function."""

    def __init__(self, relative: str):
        self.relative, self.functions, self.found = relative, [], []

    def visit_FunctionDef(self, node):
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node):
        func = node.func
        is_update = isinstance(func, ast.Attribute) and func.attr == "update"
        if is_update and not node.args and node.keywords:
            function = self.functions[0] if self.functions else ""
            fields = {keyword.arg for keyword in node.keywords}
            self.found.append((self.relative, function, fields, node.lineno))
        self.generic_visit(node)


def _update_calls():
    """Every ``<expr>.update(<keywords only>)`` call in the project code, with its file,
    enclosing function and keyword names. ``QuerySet.update`` takes keywords only, while
    ``dict.update``/``hash.update`` take a positional argument, so those are left out."""
    found = []
    for package in PROJECT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            finder = _UpdateCallFinder(path.relative_to(ROOT).as_posix())
            finder.visit(ast.parse(path.read_text(), filename=str(path)))
            found.extend(finder.found)
    return found


def test_the_scanner_finds_update_calls():
    # A scanner that finds nothing passes whatever the code does.
    assert any(path.startswith("customers/services/") for path, *_ in _update_calls())


def test_no_update_call_bypasses_row_history_outside_the_allow_list():
    offenders = []
    for path, function, fields, line in _update_calls():
        allowed = ALLOWED_UPDATES.get((path, function))
        if allowed is None:
            offenders.append(f"{path}:{line} in {function}() sets {sorted(fields)}")
        elif not fields <= allowed[1]:
            offenders.append(
                f"{path}:{line} in {function}() sets {sorted(fields - allowed[1])}, "
                f"beyond the allowed {sorted(allowed[1])}"
            )
    assert not offenders, (
        "QuerySet.update() writes no row history. Use portal.history.update_with_history "
        "for state changes, or add a counter/marker to ALLOWED_UPDATES with a reason:\n"
        + "\n".join(offenders)
    )


def test_the_allow_list_holds_only_counters_markers_and_live_call_sites():
    tracked = {model._meta.label for model in registered_models.values()}
    sites = {(path, function) for path, function, _fields, _line in _update_calls()}
    for (path, function), (label, _fields, why) in ALLOWED_UPDATES.items():
        assert (path, function) in sites, f"{path} {function}() no longer calls .update("
        if label is None:
            continue
        apps.get_model(label)
        if label in tracked:
            assert why.startswith(("counter:", "marker:")), (label, why)
